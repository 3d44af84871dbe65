"""In a real Chromium, the course page of a class with a term of sessions taken: the attendance
grid comes first, its % column stays in view on a phone however many sessions scroll sideways,
and a date filter narrows the grid and the percentages. Screenshots go to ROLLCALL_SCREENSHOTS
when it is set."""

from datetime import datetime, time, timedelta

from django.utils import timezone

from students.attendance import close_session, set_status
from students.models import AttendanceRecord, ClassSession
from tests.factories import make_course, make_student, make_user
from tests.web.conftest import BROWSER_TESTS, log_in
from tests.web.test_csp_browser import assert_no_violation, screenshots_dir, visit, watched

pytestmark = BROWSER_TESTS

SESSIONS = 24


def taken_term(course, students):
    """SESSIONS past sessions, one a day, each closed after a photo saw all but one student."""
    today = timezone.localdate()
    for n in range(SESSIONS):
        day = today - timedelta(days=SESSIONS - n)
        starts = timezone.make_aware(datetime.combine(day, time(9)))
        session = ClassSession.objects.create(course=course, starts_at=starts, ends_at=starts + timedelta(hours=1))
        for k, student in enumerate(students):
            if (n + k) % 5:
                status = AttendanceRecord.LATE if (n + k) % 7 == 0 else AttendanceRecord.PRESENT
                set_status(session, student, status, None, "")
        close_session(session, None)


def test_the_course_page_shows_the_grid_first_with_the_percentages_in_view_on_a_phone(
    open_browser, live_server, tmp_path
):
    teacher = make_user("teacher", role="Teacher")
    names = ["Ada Lovelace", "Bartholomew Fitzgerald-Ashworth", "Cyd Charisse", "Đặng Thị Ngọc Hân", "Zoë Ŝtraße"]
    students = [make_student(f"S{n}", name) for n, name in enumerate(names)]
    course = make_course("MATH1", teacher=teacher, students=students)
    taken_term(course, students)
    shots = screenshots_dir(tmp_path)

    page = watched(open_browser())
    log_in(page, live_server, "teacher")
    for width, height in ((390, 844), (1280, 900)):
        page.set_viewport_size({"width": width, "height": height})
        visit(page, f"{live_server.url}/courses/{course.pk}/", f"course page at {width}")
        assert_no_violation(page, f"course page at {width}")
        grid = page.locator(".attendance-grid")
        assert grid.bounding_box()["y"] < height, "the grid starts within the first screen"
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.locator(".attendance-grid thead th.cell").count() == SESSIONS
        # The % column is in view, at the grid's right edge, without scrolling the grid.
        pct = page.locator(".attendance-grid tbody tr").first.locator(".grid-pct").bounding_box()
        box = grid.bounding_box()
        assert box["x"] <= pct["x"] and pct["x"] + pct["width"] <= box["x"] + box["width"] + 1
        assert pct["x"] + pct["width"] <= width
        page.screenshot(path=str(shots / f"course-grid-{width}.png"), full_page=True)

    # The last week alone: fewer columns, the percentages over those dates.
    last_week = timezone.localdate() - timedelta(days=7)
    page.get_by_label("From").fill(last_week.isoformat())
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**start=*")
    assert page.locator(".attendance-grid thead th.cell").count() == 7
    assert "start=" in page.locator("a", has_text="Download as CSV").get_attribute("href")
    page.get_by_label("To").fill((last_week - timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Show").click()
    page.get_by_text("“To” is before “From”.").wait_for()
    assert page.locator(".attendance-grid thead th.cell").count() == SESSIONS
