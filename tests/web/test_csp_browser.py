"""In a real Chromium, every page works under the Content-Security-Policy: no violation is
reported on the login, home, course, session (with a recognised class photo drawn), my
attendance, enrol-by-camera, admin and API docs pages, and every image on them loads."""

import os
from pathlib import Path

from django.utils import timezone

from students.consent import record_consent
from students.models import AttendanceRecord, Student
from tests.factories import make_course, make_session, make_student, make_user
from tests.helpers import enrol_identities
from tests.web.conftest import BROWSER_TESTS, log_in
from tests.web.school import BBT_GROUP_PHOTO
from tests.web.test_browser_camera import write_y4m

pytestmark = BROWSER_TESTS

CLASS = ["BBT_Raj", "BBT_Sheldon", "BBT_Bernadette"]

# Chromium reports a blocked script, style, image or fetch both as a DOM event and on the
# console; either is a violation. Playwright's init script itself is not subject to the policy.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " blocked " + (event.blockedURI || "inline"));
});
"""


def watched(page):
    """The page, recording policy violations; page.csp_console holds the console's reports."""
    page.add_init_script(RECORD_VIOLATIONS)
    page.csp_console = []
    page.on(
        "console", lambda message: "Content Security Policy" in message.text and page.csp_console.append(message.text)
    )
    return page


def assert_no_violation(page, what):
    # Images the page loads only when scrolled to (loading="lazy") are loaded now: every one is checked.
    page.evaluate("document.querySelectorAll('img[loading=lazy]').forEach((image) => { image.loading = 'eager'; })")
    page.wait_for_load_state("networkidle")
    # Polled from here: Playwright's wait_for_function evaluates a string, which the policy forbids.
    for _ in range(100):
        if page.evaluate("[...document.images].every((image) => image.complete)"):
            break
        page.wait_for_timeout(100)
    reported = page.evaluate("window.__cspViolations") + page.csp_console
    assert reported == [], f"{what}: {reported}"
    broken = page.evaluate("[...document.images].filter((image) => !image.naturalWidth).map((image) => image.src)")
    assert broken == [], f"{what}: images that did not load: {broken}"


def visit(page, url, what):
    page.goto(url)
    assert_no_violation(page, what)


def screenshots_dir(tmp_path):
    folder = Path(os.environ.get("ROLLCALL_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_the_pages_report_no_policy_violation(open_browser, live_server, faces_dataset, eager_celery, tmp_path):
    teacher = make_user("teacher", role="Teacher", first_name="Tess", last_name="Teacher")
    course = make_course("PHYS1", teacher=teacher)
    cast = enrol_identities(faces_dataset, CLASS, course, photos_each=2)
    session = make_session(course)
    student_user = make_user("ada", role="Student")
    ada = make_student("S1", "Ada Lovelace", user=student_user)
    course.students.add(ada)
    AttendanceRecord.objects.create(
        session=session, student=ada, status="present", source="photo", first_seen_at=timezone.now()
    )
    make_user("boss", role="Admin", is_staff=True, is_superuser=True)
    raj = make_student("S9", "Raj Again")
    record_consent(Student.objects.filter(pk=raj.pk), recorded_by=None, given_by="Raj")
    shots = screenshots_dir(tmp_path)

    page = watched(open_browser())
    visit(page, f"{live_server.url}/login/", "login")
    log_in(page, live_server, "teacher")
    assert_no_violation(page, "home")
    visit(page, f"{live_server.url}/courses/{course.pk}/", "course")
    visit(page, f"{live_server.url}/sessions/{session.pk}/", "session")
    page.locator("#photo-input").set_input_files(str(faces_dataset / BBT_GROUP_PHOTO))
    page.locator('[data-status="done"] svg polygon').first.wait_for()
    page.locator("#roster").get_by_text("Recognised in a class photo").first.wait_for()
    assert page.locator(".faces .label").count() == page.locator("svg polygon.box").count() >= 3
    assert_no_violation(page, "session with a recognised photo")
    # The drawn photo loaded as an image too: the SVG <image> has no naturalWidth to check.
    assert (
        page.evaluate(
            "fetch(document.querySelector('svg image').getAttribute('href')).then((r) => r.headers.get('content-type'))"
        )
        == "image/jpeg"
    )
    page.screenshot(path=str(shots / "session-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(shots / "session-390.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    visit(page, f"{live_server.url}/api/docs/", "API docs")

    page = watched(open_browser())
    log_in(page, live_server, "ada", lands_on="/me/attendance/")
    visit(page, f"{live_server.url}/me/attendance/", "my attendance")

    portrait = sorted((faces_dataset / "identities" / "BBT_Raj").iterdir())[0]
    page = watched(open_browser(camera=write_y4m(tmp_path / "portrait.y4m", portrait, scale=3)[0]))
    log_in(page, live_server, "boss")
    visit(page, f"{live_server.url}/students/{raj.pk}/enrol/", "enrol by camera")
    page.get_by_role("button", name="Start camera").click()
    page.get_by_role("button", name="Take photo").click()
    # Raj Again looks like BBT Raj of the class, so the shot is saved but held for an admin.
    page.locator("#enrol-result").get_by_text("Saved, but not used until a school admin approves it").wait_for()
    page.locator("#enrol-shots img").first.wait_for()
    assert_no_violation(page, "enrol by camera, after a shot")
    visit(page, f"{live_server.url}/admin/", "admin index")
    visit(page, f"{live_server.url}/admin/students/student/{raj.pk}/change/", "admin student change page")
    # The inline's thumbnail, the "add another" rows and the collapsible parts run admin scripts.
    page.locator(".add-row a").first.click()
    assert_no_violation(page, "admin student change page, a photo row added")
    visit(page, f"{live_server.url}/admin/students/classsession/{session.pk}/change/", "admin session change page")
    visit(page, f"{live_server.url}/admin/recognition/capture/", "admin captures")
    assert len(cast) == len(CLASS)
