"""In a real Chromium, at 1280 px and on a 390 px phone: a teacher confirms a suggestion and
removes a photo sent by mistake from the session page; the latest photo is drawn large with
numbered faces, earlier ones compact; the numbers are readable and do not collide; the page
reports no Content-Security-Policy violation after the actions. Screenshots go to
ROLLCALL_SCREENSHOTS (a temporary folder by default)."""

from datetime import timedelta

from django.utils import timezone

from recognition.models import Capture
from students.models import AttendanceRecord
from tests.factories import make_course, make_session, make_user
from tests.helpers import enrol_identities
from tests.web.conftest import BROWSER_TESTS, log_in
from tests.web.school import BBT
from tests.web.test_csp_browser import assert_no_violation, screenshots_dir, watched

pytestmark = BROWSER_TESTS

EARLIER, LATEST = "group/faceapi_bbt3.jpg", "group/faceapi_bbt4.jpg"


def badges_overlap(page):
    """Whether any two face numbers drawn on the latest photo overlap on screen."""
    boxes = [node.bounding_box() for node in page.locator(".capture.latest svg rect.badge").all()]
    return any(
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
    )


def upload(page, faces_dataset, name, done):
    page.locator("#photo-input").set_input_files(str(faces_dataset / name))
    page.locator(f'[data-capture-id][data-status="done"] >> nth={done - 1}').wait_for(state="attached")


def check_layout(page, shots, name, numbers=True):
    """No policy violation, no sideways scroll, and (numbers) the latest photo's face numbers
    readable and apart, at 1280 and 390 px; a screenshot at each."""
    assert_no_violation(page, name)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900 if width > 400 else 844})
        page.wait_for_timeout(200)
        page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        if not numbers:
            continue
        number = page.locator(".capture.latest svg text.number").first.bounding_box()
        assert number["height"] >= 10, f"face numbers {number['height']:.1f} px tall at {width} px"
        assert not badges_overlap(page)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_teacher_confirms_a_suggestion_and_removes_a_photo_on_the_page(
    open_browser, live_server, faces_dataset, eager_celery, tmp_path
):
    teacher = make_user("teacher", role="Teacher", first_name="Tess", last_name="Teacher")
    course = make_course("PHYS1", teacher=teacher)
    cast = enrol_identities(faces_dataset, BBT, course, photos_each=2)
    session = make_session(course, starts_at=timezone.now() - timedelta(minutes=5))
    shots = screenshots_dir(tmp_path)
    page = watched(open_browser())
    log_in(page, live_server, "teacher")
    page.goto(f"{live_server.url}/sessions/{session.pk}/")

    upload(page, faces_dataset, EARLIER, 1)
    upload(page, faces_dataset, LATEST, 2)
    latest, earlier = Capture.objects.filter(session=session).order_by("-created_at")
    page.locator(f'.capture.latest[data-capture-id="{latest.pk}"] svg polygon').first.wait_for()
    # The earlier photo is one compact line with its counts, opened with a click.
    compact = page.locator(f'details.capture.compact[data-capture-id="{earlier.pk}"]')
    assert compact.locator(":scope > summary").get_by_text("marked").is_visible()
    assert not compact.locator("svg").is_visible()
    # One "Who is this?" per person, whichever photos they are in.
    cards = page.locator("#who-is-this .person")
    assert cards.count() >= 1
    check_layout(page, shots, "session-two-photos")

    # Confirm Raj's suggestion on his card: one click.
    raj = cast["BBT Raj"]
    assert not AttendanceRecord.objects.filter(session=session, student=raj).exists()
    page.locator("#who-is-this").get_by_role("button", name="Yes, BBT Raj").first.click()
    page.locator(".messages").get_by_text("Marked BBT Raj as seen.").wait_for()
    record = AttendanceRecord.objects.get(session=session, student=raj)
    assert (record.source, record.marked_by) == ("face", teacher)
    reason = record.changes.last().reason
    assert reason.startswith("Suggestion in capture") and reason.endswith("confirmed by Tess Teacher")
    page.locator("#roster tr", has_text="BBT Raj").get_by_text("Set by Tess Teacher").wait_for()
    check_layout(page, shots, "session-confirmed")

    # Remove the earlier photo: open it, press Remove, say yes.
    compact = page.locator(f'details.capture.compact[data-capture-id="{earlier.pk}"]')
    compact.locator(":scope > summary").click()
    compact.locator("svg").wait_for()
    page.once("dialog", lambda dialog: dialog.accept())
    compact.get_by_role("button", name="Remove photo").click()
    page.locator(".messages").get_by_text(f"Photo {earlier.pk} removed").wait_for()
    assert list(Capture.objects.filter(session=session)) == [latest]
    assert page.locator("details.capture.compact").count() == 0
    check_layout(page, shots, "session-removed")
