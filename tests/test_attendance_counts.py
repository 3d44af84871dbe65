"""What a percentage counts (students/overview.py, docs/teachers.md): a session counts once
attendance was taken in it (a class photo, a mark or a close), and for a student only inside
their membership of the course. Each test here is a number the issue found wrong: a term's
timetable made today from three weeks back, a student who joined today, and the words a student
reads for a session nobody took."""

from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from students import notices
from students.attendance import close_session, set_status
from students.models import AttendanceRecord, SessionSeries
from students.timetable import create_series_sessions
from tests.factories import make_course, make_session, make_student, make_user
from tests.test_admin_chores import save_student_form

pytestmark = pytest.mark.django_db

PAST_SESSIONS = 16


def back_dated_term(course, days=PAST_SESSIONS):
    """A timetable made today whose term began `days` days ago: one session a day, all over."""
    today = timezone.localdate()
    series = SessionSeries.objects.create(
        course=course,
        weekdays="0123456",
        start_time=time(9),
        end_time=time(10),
        first_date=today - timedelta(days=days),
        last_date=today - timedelta(days=1),
    )
    create_series_sessions(series)
    return list(course.sessions.order_by("starts_at"))


def session_today(course):
    """A session of today that has started (on today's date even just after midnight)."""
    now = timezone.now()
    midnight = timezone.make_aware(datetime.combine(timezone.localdate(), time.min))
    return make_session(course, starts_at=max(midnight, now - timedelta(minutes=20)).replace(microsecond=0))


@pytest.fixture
def course():
    teacher = make_user("teacher", role="Teacher", email="tess@school.example")
    return make_course(
        "HIST1", teacher=teacher, students=[make_student("S1", "Ada Lovelace"), make_student("S2", "Bob Babbage")]
    )


def test_a_back_dated_timetable_nobody_took_makes_nobody_absent_and_sends_no_digest(client, course):
    assert len(back_dated_term(course)) == PAST_SESSIONS
    client.force_login(course.teachers.get())

    page = client.get(f"/courses/{course.pk}/")
    assert {row.student.full_name: row.percentage for row in page.context["rows"]} == {
        "Ada Lovelace": None,
        "Bob Babbage": None,
    }
    assert page.context["below_threshold"] == []
    assert "Nobody is below the attendance threshold." in page.content.decode()
    assert "16 sessions over that nobody took: not taken, they count for nobody." in page.content.decode()
    assert page.content.decode().count(">Not taken</span>") == PAST_SESSIONS
    header = client.get(f"/courses/{course.pk}/attendance.csv").content.decode("utf-8-sig").splitlines()[0]
    assert header == "student number,student,attendance %"
    assert notices.record_weekly_digests() == 0

    # Once a teacher takes one of them, that one counts, and for everyone in it.
    first = course.sessions.order_by("starts_at").first()
    set_status(first, course.students.get(student_number="S1"), AttendanceRecord.PRESENT, None, "")
    rows = client.get(f"/courses/{course.pk}/").context["rows"]
    assert {row.student.full_name: row.percentage for row in rows} == {"Ada Lovelace": 100.0, "Bob Babbage": 0.0}


def test_a_session_over_that_nobody_took_is_reminded_and_a_closed_one_is_taken(course):
    nine = timezone.make_aware(datetime(2026, 3, 2, 9))
    ended = make_session(course, starts_at=nine)
    noon = nine + timedelta(hours=3)
    assert notices.sessions_without_attendance(noon).get() == ended
    close_session(ended, None)  # a close takes it, with everyone marked
    assert not notices.sessions_without_attendance(noon).exists()
    ended.attendance.all().delete()  # a close alone, with nobody to mark, takes it too
    assert not notices.sessions_without_attendance(noon).exists()


def test_a_student_who_joined_today_counts_only_todays_session(client, course):
    ada = course.students.get(student_number="S1")
    for session in back_dated_term(course):
        set_status(session, ada, AttendanceRecord.PRESENT, None, "")
    zoe = make_student("S9", "Zoe Newcomer", user=make_user("zoe", role="Student"))
    admin = make_user("boss", role="Admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    assert save_student_form(client, zoe, courses=[str(course.pk)]).status_code == 302

    today = session_today(course)
    set_status(today, zoe, AttendanceRecord.PRESENT, None, "")
    close_session(today, None)

    client.force_login(course.teachers.get())
    rows = {row.student.full_name: row for row in client.get(f"/courses/{course.pk}/").context["rows"]}
    assert rows["Zoe Newcomer"].percentage == 100.0
    assert rows["Zoe Newcomer"].statuses == ["not_enrolled"] * PAST_SESSIONS + ["present"]
    # The close marked absent the students of the day: Ada, not Zoe's past.
    assert rows["Ada Lovelace"].percentage == round(100 * PAST_SESSIONS / (PAST_SESSIONS + 1), 1)
    client.force_login(zoe.user)
    page = client.get("/me/attendance/").content.decode()
    assert "100.0%" in page and page.count('class="status ') == 1
    assert zoe.memberships.get(course=course).starts_on == timezone.localdate()


def test_a_student_whose_membership_ended_is_not_absent_after_it(course):
    bob = course.students.get(student_number="S2")
    bob.memberships.update(ends_on=timezone.localdate() - timedelta(days=1))
    today = session_today(course)
    assert close_session(today, None) == 1  # Ada alone
    assert not today.attendance.filter(student=bob).exists()
    assert [student.full_name for student in today.members()] == ["Ada Lovelace"]


def test_the_student_page_says_not_taken_for_a_session_nobody_took_and_absent_for_one_missed(client, course):
    ada = course.students.get(student_number="S1")
    ada.user = make_user("ada", role="Student")
    ada.save()
    sessions = back_dated_term(course, days=3)
    client.force_login(ada.user)

    page = client.get("/me/attendance/").content.decode()
    assert page.count(">Not taken<") == 3
    assert "Not marked" not in page and "Absent" not in page
    assert "no session taken yet" in page
    [summary] = client.get("/api/me/attendance/").json()
    assert summary["percentage"] is None
    assert [(s["status"], s["status_text"]) for s in summary["sessions"]] == [("not_taken", "not taken")] * 3

    # A session taken without Ada is her absence, and her page says so, as her percentage counts it.
    set_status(sessions[0], course.students.get(student_number="S2"), AttendanceRecord.PRESENT, None, "")
    page = client.get("/me/attendance/").content.decode()
    assert page.count(">Not taken<") == 2 and page.count(">Absent<") == 1 and "0.0%" in page


def test_the_sheets_mirror_and_the_api_use_the_membership_and_the_same_words(client, course):
    from students.sheets import checkmark_rows, timestamp_rows

    first, second = back_dated_term(course, days=2)
    ada, bob = course.students.get(student_number="S1"), course.students.get(student_number="S2")
    bob.memberships.update(starts_on=second.local_day)
    set_status(first, ada, AttendanceRecord.PRESENT, None, "")
    set_status(first, bob, AttendanceRecord.PRESENT, None, "before he joined")
    set_status(second, bob, AttendanceRecord.LATE, None, "")
    assert [row[2:] for row in checkmark_rows(course)[1:]] == [["✓", ""], ["", "L"]]
    assert [(row[3], row[4]) for row in timestamp_rows(course)[1:]] == [
        ("Ada Lovelace", "present"),
        ("Bob Babbage", "late"),
    ]

    client.force_login(course.teachers.get())
    roster = client.get(f"/api/sessions/{second.pk}/attendance/").json()
    # In the order of a class list, by the last name (students/names.py: name_sort_key).
    assert [(entry["student"]["full_name"], entry["status"], entry["status_text"]) for entry in roster] == [
        ("Bob Babbage", "late", "late"),
        ("Ada Lovelace", None, "absent"),  # over and taken: the percentage counts her absent
    ]


def test_no_absence_notice_for_a_record_outside_the_membership(course, settings):
    ada, bob = course.students.get(student_number="S1"), course.students.get(student_number="S2")
    course.students.update(guardian_email="parent@home.example")
    nine = timezone.make_aware(datetime(2026, 3, 2, 9))
    session = make_session(course, starts_at=nine)
    bob.memberships.update(starts_on=date(2026, 3, 3))
    set_status(session, bob, AttendanceRecord.ABSENT, None, "marked before he joined")
    close_session(session, None)
    session.refresh_from_db()
    after = session.closed_at + timedelta(minutes=settings.NOTICE_ABSENCE_DELAY_MINUTES + 1)
    assert notices.record_absence_notices(after) == 1
    assert list(session.notices.values_list("student", flat=True)) == [ada.pk]
