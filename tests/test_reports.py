"""The charts' figures and the school admins' "today" page (students/reports.py): counted as the
course page counts, and shown only to whom they belong."""

import json
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from students.models import AttendanceRecord
from students.overview import attendance_rows, held_sessions
from students.reports import (
    absence_streak,
    absent_in_a_row,
    chronically_absent,
    school_history,
    session_strip,
    student_percentages,
    todays_sessions,
    weekly_percentages,
    weekly_status_counts,
)
from students.vocabulary import ABSENT, EXCUSED, LATE, NOT_ENROLLED, NOT_TAKEN, PRESENT
from tests.factories import make_session


def at(day, hour=9):
    """A moment of November 2026, in the school's time zone: the 2nd and 9th are Mondays."""
    return timezone.make_aware(datetime(2026, 11, day, hour))


def mark(session, student, status):
    AttendanceRecord.objects.create(session=session, student=student, status=status, source="manual")


@pytest.fixture
def two_weeks(school):
    """MATH1's three held sessions over two weeks: Monday 2nd, Wednesday 4th, Monday 9th.
    Ada: present, late, present. Bob: absent, no record, excused. Cyd: present, excused, absent."""
    sessions = [make_session(school.course, starts_at=at(day)) for day in (2, 4, 9)]
    for student, statuses in [
        (school.ada, [PRESENT, LATE, PRESENT]),
        (school.bob, [ABSENT, None, EXCUSED]),
        (school.cyd, [PRESENT, EXCUSED, ABSENT]),
    ]:
        for session, status in zip(sessions, statuses, strict=True):
            if status:
                mark(session, student, status)
    return sessions


def course_rows(course):
    sessions = list(held_sessions(course))
    return sessions, attendance_rows(sessions, list(course.students.active()))


def test_a_courses_weeks_count_each_status_and_no_record_as_absent(school, two_weeks):
    sessions, rows = course_rows(school.course)
    weeks = weekly_status_counts(sessions, rows)
    assert weeks["labels"] == ["2 Nov", "9 Nov"]
    counts = {series["status"]: series["counts"] for series in weeks["series"]}
    assert counts == {PRESENT: [2, 1], LATE: [1, 0], EXCUSED: [1, 1], ABSENT: [2, 1]}
    assert [series["name"] for series in weeks["series"]] == ["Present", "Late", "Excused", "Absent"]


def test_the_students_bars_are_the_course_pages_percentages_with_the_threshold(school, two_weeks, settings):
    settings.ATTENDANCE_THRESHOLD_PERCENT = 80
    sessions, rows = course_rows(school.course)
    bars = student_percentages(rows)
    assert dict(zip(bars["labels"], bars["values"], strict=True)) == {
        row.student.full_name: row.percentage for row in rows
    }
    assert dict(zip(bars["labels"], bars["values"], strict=True)) == {
        "Ada Lovelace": 100.0,
        "Bob Babbage": 0.0,
        "Cyd Charisse": 50.0,
    }
    assert bars["below"] == [False, True, True] and bars["threshold"] == 80


def test_a_students_trend_is_their_percentage_week_by_week_and_the_strip_a_cell_per_session(school, two_weeks):
    sessions, rows = course_rows(school.course)
    bob = next(row for row in rows if row.student == school.bob)
    trend = weekly_percentages(sessions, bob)
    # Week of the 9th: excused only, nothing counts: no percentage rather than 0 or 100.
    assert trend["labels"] == ["2 Nov", "9 Nov"] and trend["values"] == [0.0, None]
    cyd = next(row for row in rows if row.student == school.cyd)
    assert weekly_percentages(sessions, cyd)["values"] == [100.0, 0.0]
    strip = session_strip(sessions, bob)
    assert [cell["session"] for cell in strip] == two_weeks
    assert [(cell["status"], cell["name"], cell["letter"]) for cell in strip] == [
        (ABSENT, "Absent", "A"),
        (ABSENT, "Absent", "A"),
        (EXCUSED, "Excused", "E"),
    ]


def test_a_streak_is_the_latest_sessions_missed_excused_ones_skipped():
    # Excused, not taken and not enrolled then: none ends the run, none counts in it.
    entries = [("s1", ABSENT), ("s2", PRESENT), ("s3", ABSENT), ("s4", EXCUSED), ("s5", NOT_TAKEN), ("s6", ABSENT)]
    assert absence_streak(entries) == ["s3", "s6"]
    assert absence_streak(entries + [("s7", NOT_ENROLLED)]) == ["s3", "s6"]
    assert absence_streak(entries + [("s7", LATE)]) == []
    assert absence_streak([]) == []


def test_the_school_lists_students_absent_in_a_row_across_their_courses_and_the_chronically_absent(
    school, two_weeks, settings
):
    settings.ABSENCE_STREAK = 2
    settings.CHRONIC_ABSENCE_BELOW = 90
    # ART1 on the 3rd and the 10th: Dan absent, then no record; Cyd, also in ART1, present at both.
    school.other_course.students.add(school.cyd)
    art = [make_session(school.other_course, starts_at=at(day, 11)) for day in (3, 10)]
    mark(art[0], school.dan, ABSENT)
    for session in art:
        mark(session, school.cyd, PRESENT)
    history = school_history()
    assert [entry[0] for entry in history[school.cyd]] == [two_weeks[0], art[0], *two_weeks[1:], art[1]]
    streaks = {streak.student: streak for streak in absent_in_a_row(history)}
    # Bob: absent, no record, then excused (skipped). Cyd's absence on the 9th is followed by a presence.
    assert set(streaks) == {school.bob, school.dan}
    assert streaks[school.bob].sessions == two_weeks[:2] and streaks[school.bob].since == two_weeks[0]
    assert streaks[school.dan].sessions == art
    assert absent_in_a_row(history, at_least=3) == []
    chronic = {absence.student: absence for absence in chronically_absent(history)}
    assert {student: absence.percentage for student, absence in chronic.items()} == {
        school.bob: 0.0,
        school.cyd: 75.0,
        school.dan: 0.0,
    }
    assert (chronic[school.cyd].missed, chronic[school.cyd].counted) == (1, 4)
    assert [absence.student for absence in chronically_absent(history, below=50)] == [school.bob, school.dan]


def test_todays_sessions_say_which_are_on_now_which_were_taken_and_the_share_present(school):
    now = at(20, 12)
    earlier = make_session(school.course, starts_at=at(20, 9))
    mark(earlier, school.ada, PRESENT)
    mark(earlier, school.bob, LATE)
    mark(earlier, school.cyd, ABSENT)
    on_now = make_session(school.course, starts_at=now - timedelta(minutes=5))
    later = make_session(school.other_course, starts_at=at(20, 15))
    make_session(school.course, starts_at=at(19, 12))  # yesterday's
    cancelled = make_session(school.other_course, starts_at=at(20, 17))
    cancelled.cancelled_at = now
    cancelled.save()
    today = todays_sessions(now)
    assert [entry.session for entry in today] == [earlier, on_now, later]
    assert [(entry.on_now, entry.taken) for entry in today] == [(False, True), (True, False), (False, False)]
    assert (today[0].attended, today[0].enrolled, today[0].percentage_present) == (2, 3, 66.7)
    assert today[1].percentage_present is None
    mark(on_now, school.ada, PRESENT)
    assert todays_sessions(now)[1].taken and todays_sessions(now)[1].percentage_present == 33.3


def test_only_a_school_admin_opens_the_today_page_and_finds_its_link_at_home(client, school):
    client.force_login(school.teacher)
    assert client.get("/today/").status_code == 403
    assert "/today/" not in client.get("/").content.decode()
    client.force_login(school.ada_user)
    assert client.get("/today/").status_code == 403
    client.logout()
    assert client.get("/today/")["Location"].startswith("/login/")
    client.force_login(school.admin)
    assert "/today/" in client.get("/").content.decode()
    response = client.get("/today/")
    page = response.content.decode()
    assert response.status_code == 200 and "Today at school" in page
    assert "MATH1" in page and "ART1" in page and "Not taken yet" in page


def test_the_today_page_lists_the_students_to_look_after(client, school, two_weeks, settings):
    settings.ABSENCE_STREAK = 2
    client.force_login(school.admin)
    page = client.get("/today/").content.decode()
    assert "Absent 2 sessions in a row or more" in page and "Chronically absent: attendance below 90%" in page
    streaks = page.split('id="streaks"')[1].split('id="chronic"')[0]
    assert "Bob Babbage" in streaks and "Ada Lovelace" not in streaks and "Cyd Charisse" not in streaks
    chronic = page.split('id="chronic"')[1]
    assert "Bob Babbage" in chronic and "Cyd Charisse" in chronic and "Ada Lovelace" not in chronic


def chart_data(page, element_id):
    return json.loads(page.split(f'<script id="{element_id}" type="application/json">')[1].split("</script>")[0])


def test_the_course_page_carries_its_charts_figures_and_their_tables(client, school, two_weeks):
    client.force_login(school.teacher)
    page = client.get(f"/courses/{school.course.pk}/").content.decode()
    assert chart_data(page, "course-weeks")["labels"] == ["2 Nov", "9 Nov"]
    assert chart_data(page, "course-students")["values"] == [100.0, 0.0, 50.0]
    assert page.count('aria-hidden="true"></canvas>') == 2 and page.count("The chart as a table") == 2
    assert '<script src="/static/vendor/chartjs/chart.umd.min.js" defer></script>' in page


def test_a_student_sees_their_own_trend_and_sessions_only(client, school, two_weeks):
    school.other_course.students.add(school.ada)
    mark(make_session(school.other_course, starts_at=at(3, 11)), school.dan, PRESENT)
    client.force_login(school.ada_user)
    page = client.get("/me/attendance/").content.decode()
    assert chart_data(page, f"trend-{school.course.pk}")["values"] == [100.0, 100.0]
    # ART1's session on the 3rd, taken (Dan was marked): no record of hers, so absent; the week's
    # percentage is hers, not Dan's.
    assert chart_data(page, f"trend-{school.other_course.pk}")["values"] == [0.0]
    assert page.count("chart.umd.min.js") == 1
    assert "Bob Babbage" not in page and "Cyd Charisse" not in page and "Dan Dare" not in page
    client.force_login(school.dan.user)
    page = client.get("/me/attendance/").content.decode()
    assert f"trend-{school.course.pk}" not in page
