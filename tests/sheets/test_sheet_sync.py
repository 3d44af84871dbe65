"""The Sheets mirror end to end: our code and the real gspread / google-auth client, over real
HTTP, against the local fake Google; Celery tasks run eagerly through their real retry path."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from students import sheets
from students.attendance import mark_seen, set_status
from students.models import AttendanceRecord, ClassSession, SheetSync, Student
from students.tasks import reconcile_sheets, sync_course_sheets

from ..factories import make_course, make_student
from .conftest import SCHOOL_SPREADSHEET, SERVICE_ACCOUNT_EMAIL, write_key_file
from .fake_google import new_service_account_key

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

LONDON = ZoneInfo("Europe/London")
GRID, LOG = "MATH1 check marks", "MATH1 timestamps"
LOG_HEADER = ["Session", "Course", "Student number", "Name", "Status", "First seen", "Source"]


def london(day, hour, minute=0, second=0):
    return datetime(2025, 3, day, hour, minute, second, tzinfo=LONDON)


@pytest.fixture
def course(settings):
    settings.TIME_ZONE = "Europe/London"
    ada, grace = make_student("0042", "Ada Lovelace"), make_student("0007", "Grace Hopper")
    course = make_course("MATH1", students=[ada, grace])
    # The second session is after the clocks went forward: 09:00 in London is 08:00 UTC.
    for day in (3, 31):
        ClassSession.objects.create(course=course, starts_at=london(day, 9), ends_at=london(day, 10))
    return course


def student(number):
    return Student.objects.get(student_number=number)


def session_on(course, day):
    return course.sessions.get(starts_at=london(day, 9))


def sync_state(course):
    return SheetSync.objects.get(course=course)


@pytest.fixture
def first_sync(course, google, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        mark_seen(session_on(course, 3), student("0042"), london(3, 9, 3, 12), AttendanceRecord.PHOTO, 0.31)
        mark_seen(session_on(course, 3), student("0007"), london(3, 9, 14, 5), AttendanceRecord.CAMERA, 0.42)
    return course


def test_a_first_sync_writes_the_grid_and_the_log(first_sync, google):
    assert google.table(SCHOOL_SPREADSHEET, GRID) == [
        ["Student number", "Name", "2025-03-03 09:00", "2025-03-31 09:00"],
        ["0042", "Ada Lovelace", "✓", ""],
        ["0007", "Grace Hopper", "L", ""],
    ]
    assert google.table(SCHOOL_SPREADSHEET, LOG) == [
        LOG_HEADER,
        ["2025-03-03 09:00", "MATH1", "0042", "Ada Lovelace", "present", "2025-03-03 09:03:12", "photo"],
        ["2025-03-03 09:00", "MATH1", "0007", "Grace Hopper", "late", "2025-03-03 09:14:05", "camera"],
    ]
    state = sync_state(first_sync)
    assert (state.is_behind, state.attempts, state.last_error, state.next_sync_at) == (False, 0, "", None)
    assert state.last_success_at is not None


def test_one_sync_makes_one_read_and_one_write_when_both_sheets_share_a_spreadsheet(first_sync, google):
    google.requests.clear()
    call_command("sync_sheets", "--course", "MATH1")
    assert google.requests == [
        ("POST", "/token"),
        ("GET", f"/v4/spreadsheets/{SCHOOL_SPREADSHEET}"),
        ("POST", f"/v4/spreadsheets/{SCHOOL_SPREADSHEET}:batchUpdate"),
    ]


def test_a_status_change_rewrites_the_cells_and_a_rerun_changes_nothing(
    first_sync, google, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        set_status(session_on(first_sync, 3), student("0042"), AttendanceRecord.EXCUSED, None, "Doctor's note")
        set_status(session_on(first_sync, 3), student("0007"), AttendanceRecord.ABSENT, None, "Left early")
    expected_grid = [
        ["Student number", "Name", "2025-03-03 09:00", "2025-03-31 09:00"],
        ["0042", "Ada Lovelace", "E", ""],
        ["0007", "Grace Hopper", "", ""],
    ]
    expected_log = [
        LOG_HEADER,
        ["2025-03-03 09:00", "MATH1", "0042", "Ada Lovelace", "excused", "2025-03-03 09:03:12", "manual"],
        ["2025-03-03 09:00", "MATH1", "0007", "Grace Hopper", "absent", "2025-03-03 09:14:05", "manual"],
    ]
    assert google.table(SCHOOL_SPREADSHEET, GRID) == expected_grid
    assert google.table(SCHOOL_SPREADSHEET, LOG) == expected_log
    call_command("sync_sheets")
    assert google.table(SCHOOL_SPREADSHEET, GRID) == expected_grid
    assert google.table(SCHOOL_SPREADSHEET, LOG) == expected_log


def test_a_new_session_becomes_a_column_in_start_order(first_sync, google, django_capture_on_commit_callbacks):
    new = ClassSession.objects.create(course=first_sync, starts_at=london(17, 9), ends_at=london(17, 10))
    with django_capture_on_commit_callbacks(execute=True):
        mark_seen(new, student("0007"), london(17, 8, 58), AttendanceRecord.PHOTO, 0.2)
    assert google.table(SCHOOL_SPREADSHEET, GRID) == [
        ["Student number", "Name", "2025-03-03 09:00", "2025-03-17 09:00", "2025-03-31 09:00"],
        ["0042", "Ada Lovelace", "✓", "", ""],
        ["0007", "Grace Hopper", "L", "✓", ""],
    ]
    assert google.table(SCHOOL_SPREADSHEET, LOG) == [
        LOG_HEADER,
        ["2025-03-03 09:00", "MATH1", "0042", "Ada Lovelace", "present", "2025-03-03 09:03:12", "photo"],
        ["2025-03-03 09:00", "MATH1", "0007", "Grace Hopper", "late", "2025-03-03 09:14:05", "camera"],
        ["2025-03-17 09:00", "MATH1", "0007", "Grace Hopper", "present", "2025-03-17 08:58:00", "photo"],
    ]


def test_a_grid_wider_than_the_sheet_grows_it(first_sync, google):
    for day in range(1, 30):
        ClassSession.objects.create(course=first_sync, starts_at=london(day, 14), ends_at=london(day, 15))
    call_command("sync_sheets", "--course", "MATH1")
    grid = google.table(SCHOOL_SPREADSHEET, GRID)
    assert len(grid[0]) == 2 + 31
    assert google.worksheet(SCHOOL_SPREADSHEET, GRID).columns == 33


def test_a_student_removed_from_the_course_and_a_deleted_session_disappear(first_sync, google):
    first_sync.students.remove(student("0007"))
    session_on(first_sync, 31).delete()
    reconcile_sheets.delay()
    assert google.table(SCHOOL_SPREADSHEET, GRID) == [
        ["Student number", "Name", "2025-03-03 09:00"],
        ["0042", "Ada Lovelace", "✓"],
    ]
    assert google.table(SCHOOL_SPREADSHEET, LOG) == [
        LOG_HEADER,
        ["2025-03-03 09:00", "MATH1", "0042", "Ada Lovelace", "present", "2025-03-03 09:03:12", "photo"],
    ]


def test_quota_exceeded_is_retried_until_the_write_lands(course, google, django_capture_on_commit_callbacks):
    google.fail_next(429)
    with django_capture_on_commit_callbacks(execute=True):
        mark_seen(session_on(course, 31), student("0042"), london(31, 9, 1), AttendanceRecord.PHOTO, 0.3)
    assert google.table(SCHOOL_SPREADSHEET, GRID)[1] == ["0042", "Ada Lovelace", "", "✓"]
    assert google.sheets_requests() == [
        ("GET", f"/v4/spreadsheets/{SCHOOL_SPREADSHEET}"),
        ("GET", f"/v4/spreadsheets/{SCHOOL_SPREADSHEET}"),
        ("POST", f"/v4/spreadsheets/{SCHOOL_SPREADSHEET}:batchUpdate"),
    ]
    state = sync_state(course)
    assert (state.is_behind, state.attempts, state.last_error, state.next_sync_at) == (False, 0, "", None)


def test_server_errors_twice_are_retried_and_the_sheet_ends_complete(
    course, google, django_capture_on_commit_callbacks
):
    google.fail_next(500, 503)
    with django_capture_on_commit_callbacks(execute=True):
        mark_seen(session_on(course, 31), student("0007"), london(31, 9, 20), AttendanceRecord.CAMERA, 0.3)
    assert google.table(SCHOOL_SPREADSHEET, LOG) == [
        LOG_HEADER,
        ["2025-03-31 09:00", "MATH1", "0007", "Grace Hopper", "late", "2025-03-31 09:20:00", "camera"],
    ]
    assert len(google.sheets_requests()) == 4
    assert sheets.sheet_sync_problem(course) == ""


def test_a_sheet_not_shared_stops_with_a_message_that_says_whom_to_share_with(
    course, google, django_capture_on_commit_callbacks
):
    google.spreadsheets[SCHOOL_SPREADSHEET]["shared"] = False
    with django_capture_on_commit_callbacks(execute=True):
        mark_seen(session_on(course, 3), student("0042"), london(3, 9, 1), AttendanceRecord.PHOTO, 0.3)
    assert google.sheets_requests() == [("GET", f"/v4/spreadsheets/{SCHOOL_SPREADSHEET}")]
    assert sheets.sheet_sync_problem(course) == (
        "Google Sheets sync stopped: Google refused access (403). Share the spreadsheets "
        f"{SCHOOL_SPREADSHEET} with {SERVICE_ACCOUNT_EMAIL} as an editor."
    )
    state = sync_state(course)
    assert (state.stopped, state.is_behind, state.attempts, state.next_sync_at) == (True, True, 1, None)

    google.spreadsheets[SCHOOL_SPREADSHEET]["shared"] = True
    reconcile_sheets.delay()
    assert google.table(SCHOOL_SPREADSHEET, GRID)[1] == ["0042", "Ada Lovelace", "✓", ""]
    assert sheets.sheet_sync_problem(course) == ""


def test_a_key_google_does_not_know_stops_with_a_message_about_the_credentials(
    course, google, settings, tmp_path, django_capture_on_commit_callbacks
):
    write_key_file(tmp_path / "revoked.json", new_service_account_key(), google)
    settings.GOOGLE_SERVICE_ACCOUNT_FILE = str(tmp_path / "revoked.json")
    with django_capture_on_commit_callbacks(execute=True):
        mark_seen(session_on(course, 3), student("0042"), london(3, 9, 1), AttendanceRecord.PHOTO, 0.3)
    assert google.sheets_requests() == []
    problem = sheets.sheet_sync_problem(course)
    assert problem.startswith("Google Sheets sync stopped: Google rejected the service-account credentials")
    assert "invalid_grant" in problem and SERVICE_ACCOUNT_EMAIL in problem


def test_with_google_down_during_a_change_nothing_is_lost_once_it_is_back(
    first_sync, google, settings, django_capture_on_commit_callbacks
):
    settings.SHEETS_SYNC_MAX_RETRIES = 3
    google.stop()
    with django_capture_on_commit_callbacks(execute=True):
        mark_seen(session_on(first_sync, 31), student("0042"), london(31, 8, 59), AttendanceRecord.PHOTO, 0.3)
    state = sync_state(first_sync)
    assert (state.is_behind, state.stopped, state.attempts, state.next_sync_at) == (True, False, 4, None)
    assert sheets.sheet_sync_problem(first_sync) == (
        "Google Sheets is behind after 4 failed attempt(s): Google could not be reached (TransportError); retrying."
    )

    google.start()
    reconcile_sheets.delay()
    assert google.table(SCHOOL_SPREADSHEET, GRID) == [
        ["Student number", "Name", "2025-03-03 09:00", "2025-03-31 09:00"],
        ["0042", "Ada Lovelace", "✓", "✓"],
        ["0007", "Grace Hopper", "L", ""],
    ]
    assert google.table(SCHOOL_SPREADSHEET, LOG)[-1] == [
        "2025-03-31 09:00",
        "MATH1",
        "0042",
        "Ada Lovelace",
        "present",
        "2025-03-31 08:59:00",
        "photo",
    ]
    assert sheets.sheet_sync_problem(first_sync) == ""
    assert not sync_state(first_sync).is_behind


def test_changes_while_a_sync_is_queued_are_coalesced_into_it(first_sync, google, django_capture_on_commit_callbacks):
    SheetSync.objects.filter(course=first_sync).update(next_sync_at=timezone.now() + timedelta(seconds=5))
    google.requests.clear()
    with django_capture_on_commit_callbacks(execute=True):
        set_status(session_on(first_sync, 31), student("0042"), AttendanceRecord.LATE, None)
    with django_capture_on_commit_callbacks(execute=True):
        set_status(session_on(first_sync, 31), student("0007"), AttendanceRecord.EXCUSED, None)
    assert google.requests == []
    assert sync_state(first_sync).is_behind

    sync_course_sheets.delay(first_sync.pk)  # the queued sync, when its countdown is over
    assert [row[3] for row in google.table(SCHOOL_SPREADSHEET, GRID)[1:]] == ["L", "E"]
    assert len(google.sheets_requests()) == 2
    assert not sync_state(first_sync).is_behind


def test_a_sync_queued_long_ago_and_never_run_is_queued_again(first_sync, google, django_capture_on_commit_callbacks):
    SheetSync.objects.filter(course=first_sync).update(next_sync_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        set_status(session_on(first_sync, 31), student("0042"), AttendanceRecord.LATE, None)
    assert google.table(SCHOOL_SPREADSHEET, GRID)[1] == ["0042", "Ada Lovelace", "✓", "L"]


def test_grid_and_log_in_separate_spreadsheets_get_a_read_and_a_write_each(course, google):
    google.add_spreadsheet("grid-book")
    google.add_spreadsheet("log-book")
    SheetSync.objects.create(
        course=course,
        checkmark_spreadsheet_id="grid-book",
        checkmark_worksheet="Register",
        timestamp_spreadsheet_id="log-book",
        timestamp_worksheet="Log",
    )
    call_command("sync_sheets", "--course", "MATH1")
    assert google.table("grid-book", "Register")[0] == [
        "Student number",
        "Name",
        "2025-03-03 09:00",
        "2025-03-31 09:00",
    ]
    assert google.table("log-book", "Log") == [LOG_HEADER]
    assert sorted(google.sheets_requests()) == [
        ("GET", "/v4/spreadsheets/grid-book"),
        ("GET", "/v4/spreadsheets/log-book"),
        ("POST", "/v4/spreadsheets/grid-book:batchUpdate"),
        ("POST", "/v4/spreadsheets/log-book:batchUpdate"),
    ]


def test_the_course_admin_shows_whom_to_share_with_and_the_problem(first_sync, google, client):
    google.spreadsheets[SCHOOL_SPREADSHEET]["shared"] = False
    with pytest.raises(CommandError):
        call_command("sync_sheets", "--course", "MATH1")
    client.force_login(User.objects.create(username="boss", is_staff=True, is_superuser=True))
    page = client.get(reverse("admin:students_course_change", args=[first_sync.pk])).content.decode()
    assert SERVICE_ACCOUNT_EMAIL in page
    assert "Google refused access (403)" in page


def test_a_later_sighting_that_changes_nothing_queues_no_sync(first_sync, google, django_capture_on_commit_callbacks):
    google.requests.clear()
    with django_capture_on_commit_callbacks(execute=True):
        mark_seen(session_on(first_sync, 3), student("0042"), london(3, 9, 30), AttendanceRecord.CAMERA, 0.2)
    assert google.requests == []
    assert not sync_state(first_sync).is_behind
