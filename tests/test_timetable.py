"""A term's sessions from a weekly timetable, and one occurrence edited or cancelled: made from
the course page and the admin, the same local time across the clock changes, never twice, and a
cancelled session counts nowhere (percentages, today's sessions, the Sheets grid)."""

from datetime import UTC, date, time, timedelta

import pytest
from django.utils import timezone

from students.forms import SessionSeriesForm
from students.models import AttendanceRecord, ClassSession, SessionSeries
from students.overview import attendance_rows, held_sessions
from students.sheets import checkmark_rows, timestamp_rows
from students.timetable import MAX_OCCURRENCES, create_series_sessions, set_cancelled
from tests.factories import make_room, make_session

pytestmark = pytest.mark.django_db

MONDAY, WEDNESDAY = 0, 2


@pytest.fixture(autouse=True)
def london(settings):
    settings.TIME_ZONE = "Europe/London"


def next_monday(weeks_ahead=1):
    today = timezone.localdate()
    return today + timedelta(days=7 * weeks_ahead - today.weekday())


def timetable_post(first, last, **changes):
    data = {
        "weekdays": [MONDAY, WEDNESDAY],
        "start_time": "09:00",
        "end_time": "10:00",
        "room": make_room("Room 12").pk,
        "late_after_minutes": 10,
        "first_date": first.isoformat(),
        "last_date": last.isoformat(),
        "skip_dates": "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def make_series(course, first, last, weekdays="02", start=time(9), end=time(10), skip_dates=""):
    return SessionSeries.objects.create(
        course=course,
        weekdays=weekdays,
        start_time=start,
        end_time=end,
        room=make_room("Room 12"),
        first_date=first,
        last_date=last,
        skip_dates=skip_dates,
    )


def local_starts(sessions):
    return [timezone.localtime(session.starts_at).strftime("%a %Y-%m-%d %H:%M") for session in sessions]


# --- making the sessions -----------------------------------------------------------------


def test_a_teacher_makes_six_weeks_of_monday_and_wednesday_sessions_skipping_a_holiday(client, school):
    client.force_login(school.teacher)
    first = next_monday()
    holiday = first + timedelta(days=9)  # the second Wednesday
    response = client.post(
        f"/courses/{school.course.pk}/timetable/",
        timetable_post(first, first + timedelta(weeks=6, days=-1), skip_dates=holiday.isoformat()),
    )
    assert response.status_code == 302 and response["Location"].endswith("#sessions")
    series = SessionSeries.objects.get(course=school.course)
    sessions = list(series.sessions.order_by("starts_at"))
    assert len(sessions) == 11
    assert holiday not in [session.series_date for session in sessions]
    assert {timezone.localtime(session.starts_at).weekday() for session in sessions} == {MONDAY, WEDNESDAY}
    hours = {(timezone.localtime(s.starts_at).time(), timezone.localtime(s.ends_at).time()) for s in sessions}
    assert hours == {(time(9), time(10))}
    assert {(s.room.name, s.late_after_minutes, s.course_id) for s in sessions} == {("Room 12", 10, school.course.pk)}
    page = client.get(response["Location"]).content.decode()
    assert "11 sessions created" in page


@pytest.mark.parametrize(
    "first, last, expected_utc",
    [
        # Clocks go forward on Sunday 28 March 2027 and back on Sunday 31 October 2027.
        (date(2027, 3, 22), date(2027, 3, 29), ["2027-03-22 09:00", "2027-03-29 08:00"]),
        (date(2027, 10, 25), date(2027, 11, 1), ["2027-10-25 08:00", "2027-11-01 09:00"]),
    ],
)
def test_nine_o_clock_stays_nine_o_clock_local_across_the_clock_change(school, first, last, expected_utc):
    series = make_series(school.course, first, last, weekdays="0")
    assert create_series_sessions(series) == 2
    sessions = series.sessions.order_by("starts_at")
    assert local_starts(sessions) == [f"Mon {first:%Y-%m-%d} 09:00", f"Mon {last:%Y-%m-%d} 09:00"]
    assert [s.starts_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M") for s in sessions] == expected_utc
    assert {s.ends_at - s.starts_at for s in sessions} == {timedelta(hours=1)}


def test_making_the_sessions_again_or_with_a_later_last_date_makes_no_duplicate(school):
    first = next_monday()
    series = make_series(school.course, first, first + timedelta(days=13))
    assert create_series_sessions(series) == 4
    assert create_series_sessions(series) == 0
    # One occurrence moved to Tuesday afternoon, another cancelled: neither comes back.
    moved, cancelled = series.sessions.order_by("starts_at")[:2]
    moved.starts_at += timedelta(days=1, hours=5)
    moved.ends_at += timedelta(days=1, hours=5)
    moved.save()
    set_cancelled(cancelled, True)
    series.last_date = first + timedelta(days=20)
    series.save()
    assert create_series_sessions(series) == 2
    assert series.sessions.count() == 6
    assert series.sessions.filter(series_date=moved.series_date).get().starts_at == moved.starts_at
    assert series.sessions.get(pk=cancelled.pk).is_cancelled


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"end_time": "08:30"}, "end_time", "A session must end after it starts: 08:30 is not after 09:00."),
        (
            {"last_date": "2027-01-03"},
            "last_date",
            "The last date (Sun 3 Jan 2027) is before the first (Mon 4 Jan 2027).",
        ),
        ({"weekdays": None}, "weekdays", "Choose at least one weekday."),
        (
            {"last_date": "2029-01-04", "weekdays": [0, 1, 2, 3, 4]},
            "__all__",
            f"This timetable makes 524 sessions; at most {MAX_OCCURRENCES} are made at once.",
        ),
        ({"skip_dates": "2027-01-06, Christmas"}, "skip_dates", "'Christmas' is not a date: write it as 2026-12-25."),
        (
            {"skip_dates": "2027-01-11 to 2027-01-04"},
            "skip_dates",
            "The range '2027-01-11 to 2027-01-04' ends before it starts.",
        ),
        (
            {"last_date": "2027-01-05", "skip_dates": "2027-01-04"},
            "__all__",
            "No session falls on the chosen weekdays between these dates.",
        ),
    ],
)
def test_a_timetable_that_cannot_be_made_is_refused_with_the_reason(client, school, changes, field, message):
    posted = timetable_post(date(2027, 1, 4), date(2027, 2, 12), **changes)
    form = SessionSeriesForm(posted)
    assert not form.is_valid()
    assert any(error.startswith(message) for error in form.errors[field]), form.errors
    client.force_login(school.teacher)
    page = client.post(f"/courses/{school.course.pk}/timetable/", posted)
    assert page.status_code == 200
    assert message.split(":")[0].replace("'", "&#x27;") in page.content.decode()
    assert not SessionSeries.objects.exists() and school.course.sessions.count() == 1


def test_skip_dates_take_single_dates_and_ranges(school):
    first = date(2027, 2, 8)
    series = make_series(school.course, first, date(2027, 3, 3), skip_dates="2027-02-15 to 2027-02-19\n2027-03-01")
    create_series_sessions(series)
    assert sorted(series.sessions.values_list("series_date", flat=True)) == [
        date(2027, 2, 8),
        date(2027, 2, 10),
        date(2027, 2, 22),
        date(2027, 2, 24),
        date(2027, 3, 3),
    ]


def test_the_timetable_is_for_the_courses_own_teachers_only(client, school):
    client.force_login(school.other_teacher)
    first = next_monday()
    assert client.post(f"/courses/{school.course.pk}/timetable/", timetable_post(first, first)).status_code == 404
    assert not SessionSeries.objects.exists()


# --- one occurrence ----------------------------------------------------------------------


@pytest.fixture
def one_week(client, school):
    """A week of the timetable (its Monday and Wednesday), the teacher logged in."""
    series = make_series(school.course, next_monday(), next_monday() + timedelta(days=6))
    create_series_sessions(series)
    client.force_login(school.teacher)
    return series.sessions.order_by("starts_at")


def test_a_teacher_edits_one_occurrence_and_leaves_the_rest(client, one_week):
    monday, wednesday = one_week
    first = monday.series_date
    assert "changing it leaves the others as they are" in client.get(f"/sessions/{monday.pk}/edit/").content.decode()
    day = f"{first:%Y-%m-%d}"
    response = client.post(
        f"/sessions/{monday.pk}/edit/",
        {
            "starts_at": f"{day}T11:00",
            "ends_at": f"{day}T12:00",
            "room": make_room("Hall").pk,
            "late_after_minutes": 5,
        },
    )
    assert response.status_code == 302
    monday.refresh_from_db()
    assert (local_starts([monday]), monday.room.name, monday.late_after_minutes) == ([f"Mon {day} 11:00"], "Hall", 5)
    wednesday_before = wednesday.starts_at
    wednesday.refresh_from_db()
    assert (wednesday.starts_at, wednesday.room.name) == (wednesday_before, "Room 12")
    assert (
        client.post(
            f"/sessions/{monday.pk}/edit/",
            {
                "starts_at": f"{day}T11:00",
                "ends_at": f"{day}T10:00",
                "room": "",
                "late_after_minutes": 5,
            },
        ).status_code
        == 200
    )


def test_a_teacher_cancels_one_occurrence_which_the_course_page_strikes_through(client, school, one_week):
    monday, wednesday = one_week
    assert client.post(f"/sessions/{monday.pk}/cancelled/", {"cancelled": "1"}).status_code == 302
    monday.refresh_from_db()
    wednesday.refresh_from_db()
    assert monday.is_cancelled and not wednesday.is_cancelled
    page = client.get(f"/courses/{school.course.pk}/").content.decode()
    day = timezone.localtime(monday.starts_at)
    struck = f'<span class="nowrap">{day:%a} {day.day} {day:%b %Y},</span> <span class="nowrap">09:00–10:00</span>'
    assert f"<del>{struck}</del>" in page
    assert "<strong>cancelled</strong>" in page and page.count("<del>") == 1
    client.post(f"/sessions/{monday.pk}/cancelled/", {"cancelled": "0"})
    monday.refresh_from_db()
    assert not monday.is_cancelled
    client.force_login(school.other_teacher)
    assert client.post(f"/sessions/{monday.pk}/cancelled/", {"cancelled": "1"}).status_code == 404
    assert client.get(f"/sessions/{monday.pk}/edit/").status_code == 404


# --- a cancelled session counts nowhere --------------------------------------------------


def test_a_cancelled_session_counts_in_no_percentage(school):
    earlier = make_session(school.course, starts_at=timezone.now() - timedelta(days=2))
    cancelled = make_session(school.course, starts_at=timezone.now() - timedelta(days=1))
    AttendanceRecord.objects.create(session=earlier, student=school.ada, status="present", source="manual")
    set_cancelled(cancelled, True)
    assert list(held_sessions(school.course)) == [earlier]
    [row] = attendance_rows(held_sessions(school.course), [school.ada])
    assert row.percentage == 100.0


def test_a_cancelled_session_is_not_among_todays_sessions(client, school):
    client.force_login(school.teacher)
    assert f"/sessions/{school.session.pk}/" in client.get("/").content.decode()
    set_cancelled(school.session, True)
    assert f"/sessions/{school.session.pk}/" not in client.get("/").content.decode()


def test_the_sheets_grid_and_log_leave_a_cancelled_session_out(school):
    kept = make_session(school.course, starts_at=timezone.now() - timedelta(days=2))
    cancelled = make_session(school.course, starts_at=timezone.now() - timedelta(days=1))
    for session in (kept, cancelled):
        AttendanceRecord.objects.create(session=session, student=school.ada, status="present", source="manual")
    set_cancelled(cancelled, True)
    label = timezone.localtime(cancelled.starts_at).strftime("%Y-%m-%d %H:%M")
    header = checkmark_rows(school.course)[0]
    assert label not in header and timezone.localtime(kept.starts_at).strftime("%Y-%m-%d %H:%M") in header
    assert len(header) == 2 + 2  # the kept session and the school's own
    logged = [row[0] for row in timestamp_rows(school.course)[1:]]
    assert logged == [timezone.localtime(kept.starts_at).strftime("%Y-%m-%d %H:%M")]


# --- the admin ---------------------------------------------------------------------------


def test_an_admin_makes_a_timetable_extends_it_and_cancels_one_occurrence(client, school):
    client.force_login(school.admin)
    first = next_monday()
    response = client.post(
        "/admin/students/sessionseries/add/",
        {"course": school.course.pk, **timetable_post(first, first + timedelta(days=13))},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    series = SessionSeries.objects.get()
    assert series.sessions.count() == 4
    change_url = f"/admin/students/sessionseries/{series.pk}/change/"
    assert client.get(change_url).status_code == 200
    extended = {"last_date": (first + timedelta(days=20)).isoformat(), "skip_dates": ""}
    response = client.post(change_url, extended)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert series.sessions.count() == 6
    assert client.post(change_url, extended).status_code == 302
    assert series.sessions.count() == 6
    one = series.sessions.order_by("starts_at").first()
    response = client.post("/admin/students/classsession/", {"action": "cancel_sessions", "_selected_action": [one.pk]})
    assert response.status_code == 302
    assert list(ClassSession.objects.filter(cancelled_at__isnull=False)) == [one]


def test_the_admin_refuses_a_timetable_ending_before_it_starts(client, school):
    client.force_login(school.admin)
    response = client.post(
        "/admin/students/sessionseries/add/",
        {"course": school.course.pk, **timetable_post(date(2027, 1, 4), date(2027, 1, 18), end_time="08:00")},
    )
    assert response.status_code == 200
    assert "A session must end after it starts" in response.content.decode()
    assert not SessionSeries.objects.exists()
