"""In a real Chromium: a teacher makes six weeks of Monday and Wednesday sessions from the course
page, skipping a holiday, and cancels one; the pages break no Content-Security-Policy rule and
fit a phone. Screenshots go to ROLLCALL_SCREENSHOTS when it is set."""

from datetime import timedelta

from django.utils import timezone

from students.models import ClassSession, SessionSeries
from tests.factories import make_course, make_room, make_user
from tests.web.conftest import BROWSER_TESTS, log_in
from tests.web.test_csp_browser import assert_no_violation, screenshots_dir, visit, watched

pytestmark = BROWSER_TESTS


def test_a_teacher_makes_a_terms_sessions_and_cancels_one(open_browser, live_server, tmp_path):
    teacher = make_user("teacher", role="Teacher")
    course = make_course("MATH1", teacher=teacher)
    make_room("Room 12")  # the school's rooms: the form offers them
    make_user("boss", role="Admin", is_staff=True, is_superuser=True)
    today = timezone.localdate()
    first = today + timedelta(days=7 - today.weekday())  # next Monday
    holiday = first + timedelta(days=16)  # the third Wednesday
    shots = screenshots_dir(tmp_path)

    page = watched(open_browser())
    log_in(page, live_server, "teacher")
    visit(page, f"{live_server.url}/courses/{course.pk}/", "course page")
    timetable = page.locator("#timetable")
    timetable.get_by_label("Mon").check()
    timetable.get_by_label("Wed").check()
    timetable.get_by_label("Starts").fill("09:00")
    timetable.get_by_label("Ends").fill("10:00")
    timetable.get_by_label("Room").select_option("Room 12")
    timetable.get_by_label("First date").fill(first.isoformat())
    timetable.get_by_label("Last date").fill((first + timedelta(weeks=6, days=-1)).isoformat())
    timetable.get_by_label("No session on (holidays)").fill(holiday.isoformat())
    timetable.get_by_role("button", name="Create the sessions").click()
    page.get_by_text("11 sessions created").wait_for()
    assert_no_violation(page, "course page with its sessions")
    assert page.locator(".session-list li").count() == 11
    assert SessionSeries.objects.get().sessions.count() == 11

    # Session creation is folded away once the course has sessions: the grid comes first.
    new_sessions = page.locator("#new-sessions")
    assert new_sessions.get_attribute("open") is None
    assert page.locator("#attendance").bounding_box()["y"] < new_sessions.bounding_box()["y"]
    new_sessions.locator("summary").click()
    # A one-off session over one of them in the same room is refused, saying by which.
    one_off = page.locator("form", has=page.get_by_role("button", name="Create session"))
    one_off.get_by_label("Starts").fill(f"{first.isoformat()}T09:30")
    one_off.get_by_label("Ends").fill(f"{first.isoformat()}T10:30")
    one_off.get_by_label("Room").select_option("Room 12")
    one_off.get_by_role("button", name="Create session").click()
    page.get_by_text("Room 12 is taken then by another session (MATH1, ").wait_for()
    assert_no_violation(page, "course page refusing a session in a taken room")
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(shots / "course-room-taken-390.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 900})
    assert ClassSession.objects.count() == 11

    second_monday = timezone.localtime(ClassSession.objects.get(series_date=first + timedelta(days=7)).starts_at)
    of_second_monday = f"the session of Mon {second_monday.day} {second_monday:%b} 09:00"
    page.get_by_role("button", name=f"Cancel {of_second_monday}").click()
    page.get_by_text("cancelled: it counts nowhere").wait_for()
    cancelled = page.locator(".session-list li.cancelled")
    assert cancelled.count() == 1 and cancelled.locator("del").count() == 1
    assert "Room 12 · cancelled" in cancelled.inner_text()
    assert ClassSession.objects.filter(cancelled_at__isnull=False).get().series_date == second_monday.date()
    assert_no_violation(page, "course page with a cancelled session")
    page.screenshot(path=str(shots / "course-timetable-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(shots / "course-timetable-390.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.get_by_role("link", name=f"Edit {of_second_monday}").click()
    page.get_by_role("button", name="Restore this session").wait_for()
    assert_no_violation(page, "session edit page")
    page.screenshot(path=str(shots / "session-edit-390.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page = watched(open_browser())
    log_in(page, live_server, "boss")
    visit(page, f"{live_server.url}/admin/students/sessionseries/add/", "admin timetable add page")
    series = SessionSeries.objects.get()
    visit(page, f"{live_server.url}/admin/students/sessionseries/{series.pk}/change/", "admin timetable change page")
