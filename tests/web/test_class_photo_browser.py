"""In a real Chromium, on a 390 px phone and at 1280 px, a class-size photo (group/ultralight_11.jpg,
26 people, recognised by the real models, none of them a student of the course): the photo starts
on the first screen, right under the session's heading; no face number overlaps another or covers
another face; each "Who is this?" card names the numbers of its faces, and tapping a number shows
the face on the photo, tapping a face its card; the buttons zoom. No policy violation on the way.
Screenshots go to ROLLCALL_SCREENSHOTS (a temporary folder by default)."""

from datetime import timedelta

from django.utils import timezone

from recognition.models import Capture, DetectedFace
from tests.factories import make_course, make_session, make_user
from tests.helpers import enrol_identities
from tests.web.axe import violations
from tests.web.conftest import BROWSER_TESTS, log_in
from tests.web.school import BBT
from tests.web.test_csp_browser import assert_no_violation, screenshots_dir, watched

pytestmark = BROWSER_TESTS

CLASS_PHOTO = "group/ultralight_11.jpg"
PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 900}


def rects(page, selector):
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)].map((node) => {
            const box = node.getBoundingClientRect();
            return {x: box.x, y: box.y, w: box.width, h: box.height};
        })""",
        selector,
    )


def overlap(a, b, slack=0.5):
    """Whether two screen rectangles share more than a rounding's worth of area."""
    return (
        a["x"] + slack < b["x"] + b["w"]
        and b["x"] + slack < a["x"] + a["w"]
        and a["y"] + slack < b["y"] + b["h"]
        and b["y"] + slack < a["y"] + a["h"]
    )


def check_numbers_apart(page, width):
    chips = rects(page, ".capture.latest svg a.mark rect.badge")
    boxes = rects(page, ".capture.latest svg a.mark polygon.box")
    assert len(chips) == len(boxes) >= 25
    for index, chip in enumerate(chips):
        others = [other for position, other in enumerate(chips) if position > index]
        assert not any(overlap(chip, other) for other in others), f"number {index + 1} overlaps another at {width} px"
        covered = [position + 1 for position, box in enumerate(boxes) if position != index and overlap(chip, box)]
        assert not covered, f"number {index + 1} covers face(s) {covered} at {width} px"


def check_cards_name_their_faces(page):
    """Each card's numbers are exactly the numbers of the faces on the photo that link to it."""
    marks = page.evaluate(
        """() => [...document.querySelectorAll('.capture.latest svg a.mark')].map((mark) => ({
            href: mark.getAttribute('href'), id: mark.id, number: mark.querySelector('text').textContent.trim()}))"""
    )
    cards = page.evaluate(
        """() => [...document.querySelectorAll('#who-is-this .person')].map((card) => ({
            id: card.id,
            refs: [...card.querySelectorAll('.face-ref')].map((ref) => ({
                href: ref.getAttribute('href'), number: ref.textContent.trim()}))}))"""
    )
    assert cards
    for card in cards:
        expected = {(f"#{mark['id']}", mark["number"]) for mark in marks if mark["href"] == f"#{card['id']}"}
        named = {(ref["href"], ref["number"]) for ref in card["refs"]}
        assert named == expected, card["id"]
        assert named, f"{card['id']} names no face"


def first_screen_has_the_photo(page):
    page.evaluate("window.scrollTo(0, 0)")
    top = page.locator(".capture.latest .photo-frame").bounding_box()["y"]
    return top < page.viewport_size["height"], top


def test_a_class_photo_on_a_phone_and_a_desktop(open_browser, live_server, faces_dataset, eager_celery, tmp_path):
    teacher = make_user("teacher", role="Teacher", first_name="Tess", last_name="Teacher")
    course = make_course("PHYS1", teacher=teacher)
    enrol_identities(faces_dataset, BBT, course, photos_each=2)
    session = make_session(course, starts_at=timezone.now() - timedelta(minutes=5))
    shots = screenshots_dir(tmp_path)
    page = watched(open_browser())
    page.set_viewport_size(PHONE)
    log_in(page, live_server, "teacher")
    page.goto(f"{live_server.url}/sessions/{session.pk}/")
    page.locator("#photo-input").set_input_files(str(faces_dataset / CLASS_PHOTO))
    page.locator('#capture-list [data-status="done"] svg polygon').first.wait_for()
    capture = Capture.objects.get(session=session)
    faces = DetectedFace.objects.filter(capture=capture).count()
    assert faces >= 25
    page.locator("#who-is-this .person").nth(faces - 1).wait_for()
    page.goto(f"{live_server.url}/sessions/{session.pk}/")  # as the teacher comes back to it

    for viewport in (PHONE, DESKTOP):
        width = viewport["width"]
        page.set_viewport_size(viewport)
        page.wait_for_timeout(300)
        first_screen, top = first_screen_has_the_photo(page)
        assert first_screen, f"the photo starts {top:.0f} px down at {width} px"
        check_numbers_apart(page, width)
        check_cards_name_their_faces(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        # axe-core: a processed photo was "an image containing links" (nested-interactive).
        assert violations(page) == [], f"the session page with a class photo at {width} px"
        page.screenshot(path=str(shots / f"class-photo-top-{width}.png"))
        page.screenshot(path=str(shots / f"class-photo-page-{width}.png"), full_page=True)
    assert_no_violation(page, "a class photo")

    page.set_viewport_size(PHONE)
    # A number on a card shows its face on the photo, by keyboard as well.
    card = page.locator("#who-is-this .person").nth(3)
    ref = card.locator(".face-ref").first
    mark_id = ref.get_attribute("href")[1:]
    ref.focus()
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == f"#{mark_id}"
    assert page.evaluate(f"document.getElementById('{mark_id}').matches(':target')")
    chip = page.locator(f"#{mark_id} rect.badge").bounding_box()
    assert 0 <= chip["y"] < PHONE["height"]  # scrolled to, on screen
    page.screenshot(path=str(shots / "class-photo-face-shown-390.png"))

    # A face on the photo shows its card.
    mark = page.locator(".capture.latest svg a.mark").nth(10)
    card_id = mark.get_attribute("href")[1:]
    mark.click()
    assert page.evaluate("location.hash") == f"#{card_id}"
    target = page.locator(f"#{card_id}")
    assert page.evaluate(f"document.getElementById('{card_id}').matches(':target')")
    box = target.bounding_box()
    assert box["y"] < PHONE["height"] and box["y"] + box["height"] > 0
    page.screenshot(path=str(shots / "class-photo-card-shown-390.png"))

    # Zoom: the buttons scale the photo, and back.
    page.evaluate("window.scrollTo(0, 0)")
    before = page.locator(".capture.latest .photo-pan").bounding_box()["width"]
    page.get_by_role("button", name="Zoom in").click()
    page.wait_for_timeout(400)
    assert page.locator(".capture.latest .photo-pan").bounding_box()["width"] > before * 1.4
    page.screenshot(path=str(shots / "class-photo-zoomed-390.png"))
    page.get_by_role("button", name="Whole photo").click()
    page.wait_for_timeout(400)
    assert abs(page.locator(".capture.latest .photo-pan").bounding_box()["width"] - before) < 2
    assert_no_violation(page, "a class photo, zoomed")
