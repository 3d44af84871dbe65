"""In a real Chromium, at 1280 px and on a 390 px phone: a status is set with one tap and its
row says so where the teacher tapped (no reload, nothing off-screen, no sideways scroll); the
same without the page's script; closing asks for a yes and can be undone; a photo sent to a
session closed meanwhile is refused with how to reopen it. No policy violation on the way.
Screenshots go to ROLLCALL_SCREENSHOTS when it is set."""

import pytest

from recognition.models import Capture
from students.attendance import close_session
from students.models import AttendanceRecord, SessionEvent
from tests.factories import make_course, make_session, make_student, make_user
from tests.helpers import photo_jpeg
from tests.web.conftest import BROWSER_TESTS, log_in
from tests.web.test_csp_browser import assert_no_violation, screenshots_dir, watched

pytestmark = BROWSER_TESTS

PHONE = {"width": 390, "height": 844}
NAMES = [
    "Ada Lovelace",
    "Bob Babbage",
    "Cyd Charisse",
    "Dan Dare",
    "Eve Polastri-Villanelle Featherstonehaugh",
    "Fay Wray",
    "Gus Grissom",
    "Hal Incandenza",
]


@pytest.fixture
def lesson(db):
    teacher = make_user("teacher", role="Teacher", first_name="Tess", last_name="Teacher")
    students = [make_student(f"S{number}", name) for number, name in enumerate(NAMES, 1)]
    course = make_course("MATH1", teacher=teacher, students=students)
    return make_session(course), teacher, students


def open_session(open_browser, live_server, session, viewport, javascript=True):
    page = open_browser()
    if javascript:
        page = watched(page)
    else:
        browser = page.context.browser
        page.close()
        page = browser.new_page(java_script_enabled=False)
        page.set_default_timeout(60_000)
    page.set_viewport_size(viewport)
    log_in(page, live_server, "teacher")
    page.goto(f"{live_server.url}/sessions/{session.pk}/")
    return page


def in_view(page, locator):
    # Once the page has loaded: the browser's jump to the #fragment is settled only then (on a
    # loaded machine the message was checked while the jump was still under way).
    page.wait_for_load_state("load")
    box = locator.bounding_box()
    size = page.viewport_size
    return (
        box is not None
        and box["y"] >= 0
        and box["y"] + box["height"] <= size["height"]
        and box["x"] + box["width"] <= size["width"]
    )


def no_sideways_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, PHONE], ids=["1280", "390"])
def test_a_tap_sets_a_status_and_its_row_confirms_it_in_place(open_browser, live_server, lesson, viewport, tmp_path):
    session, teacher, students = lesson
    page = open_session(open_browser, live_server, session, viewport)
    assert no_sideways_scroll(page)
    target = students[-1]
    row = page.locator(f"#student-{target.pk}")
    row.scroll_into_view_if_needed()
    scrolled = page.evaluate("window.scrollY")
    name = row.locator(".roster-name")
    assert in_view(page, name)  # the name is always on screen with the buttons
    buttons = row.get_by_role("button")
    heights = [buttons.nth(index).bounding_box()["height"] for index in range(4)]
    assert min(heights) >= 44, heights
    page.evaluate("window.__notReloaded = true")

    row.get_by_label(f"Reason for {target.full_name}").fill("Phoned in")
    row.get_by_role("button", name="Absent").click()

    notice = row.get_by_text(f"Saved: {target.full_name} is absent.")
    notice.wait_for()
    assert in_view(page, notice) and in_view(page, name)
    assert page.evaluate("window.__notReloaded") is True  # in place, not a page load
    assert abs(page.evaluate("window.scrollY") - scrolled) < 5
    assert row.get_by_role("button", name="Absent").get_attribute("aria-pressed") == "true"
    assert row.locator(".status-absent").inner_text() == "Absent"
    assert "Set by Tess Teacher: “Phoned in”" in row.locator(".roster-how").inner_text()
    record = AttendanceRecord.objects.get(session=session, student=target)
    assert (record.status, record.source, record.marked_by) == ("absent", "manual", teacher)
    assert no_sideways_scroll(page)

    row.get_by_text("History (1)").click()
    assert "Tess Teacher: not seen yet → absent (“Phoned in”)" in row.locator(".roster-history").inner_text()
    shots = screenshots_dir(tmp_path)
    page.screenshot(path=str(shots / f"roster-after-tap-{viewport['width']}.png"))
    page.screenshot(path=str(shots / f"session-{viewport['width']}.png"), full_page=True)
    assert_no_violation(page, f"session page at {viewport['width']} px, a status tapped")


def test_without_script_the_status_form_comes_back_to_its_row_with_the_confirmation(open_browser, live_server, lesson):
    session, _, students = lesson
    page = open_session(open_browser, live_server, session, PHONE, javascript=False)
    target = students[-2]
    row = page.locator(f"#student-{target.pk}")
    row.get_by_role("button", name="Late").click()
    page.wait_for_url(f"**/sessions/{session.pk}/#student-{target.pk}")
    notice = row.get_by_text(f"Saved: {target.full_name} is late.")
    assert in_view(page, notice) and in_view(page, row.locator(".roster-name"))
    assert page.locator("main > ul.messages").count() == 0  # not repeated at the top, off-screen
    assert no_sideways_scroll(page)


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, PHONE], ids=["1280", "390"])
def test_closing_takes_a_yes_and_a_reopen_undoes_it(open_browser, live_server, lesson, viewport, tmp_path):
    session, teacher, students = lesson
    page = open_session(open_browser, live_server, session, viewport)
    finish = page.locator("#finish")
    finish.get_by_role("button", name="Close session").click()
    # The required box stops the form: nothing is closed.
    assert page.evaluate("document.querySelector('#finish input[name=confirm]').validity.valueMissing") is True
    session.refresh_from_db()
    assert session.closed_at is None

    finish.get_by_label("Yes, close it").check()
    finish.get_by_role("button", name="Close session").click()
    message = page.locator("#finish").get_by_text(
        f"Session closed; {len(students)} students not seen were marked absent."
    )
    message.wait_for()
    assert in_view(page, message)
    session.refresh_from_db()
    assert session.closed_at is not None
    page.locator("#closed-notice").get_by_text("This session was closed at").wait_for()
    assert page.locator("#photo-input").is_disabled()
    assert no_sideways_scroll(page)
    shots = screenshots_dir(tmp_path)
    page.screenshot(path=str(shots / f"session-closed-{viewport['width']}.png"), full_page=True)
    assert_no_violation(page, f"closed session at {viewport['width']} px")

    page.locator("#finish").get_by_role("button", name="Reopen session").click()
    reopened = page.locator("#finish").get_by_text("Session reopened: it takes photos again;")
    reopened.wait_for()
    assert in_view(page, reopened)
    session.refresh_from_db()
    assert session.closed_at is None and not AttendanceRecord.objects.filter(session=session).exists()
    assert SessionEvent.objects.filter(session=session, action="reopened", by=teacher).count() == 1
    assert page.locator("#photo-input").is_enabled()
    page.locator("#finish").get_by_text("Session history (2)").click()
    assert "Tess Teacher: reopened" in page.locator("#finish .session-history").inner_text()
    assert_no_violation(page, f"reopened session at {viewport['width']} px")


def test_a_photo_sent_to_a_session_closed_meanwhile_is_refused_with_how_to_reopen(
    open_browser, live_server, lesson, tmp_path
):
    session, teacher, _ = lesson
    page = open_session(open_browser, live_server, session, PHONE)
    close_session(session, teacher)  # from another phone, while this page is open
    photo = tmp_path / "class.jpg"
    photo.write_bytes(photo_jpeg())
    page.locator("#photo-input").set_input_files(str(photo))
    refusal = page.locator("#upload-log").get_by_text("This session was closed at")
    refusal.wait_for()
    assert refusal.inner_text().endswith("by Tess Teacher. Reopen it on the session page to add photos.")
    assert not Capture.objects.exists()
    assert no_sideways_scroll(page)
