"""Notices that go out: absence notices to guardians, the weekly digest and the "attendance not
taken" reminder to teachers, sent once over real SMTP to a local server the tests start."""

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from recognition.models import Capture
from students import notices, session_photos, tasks
from students.attendance import close_session, mark_seen, set_status
from students.models import AttendanceRecord, Notice
from tests.factories import make_course, make_session, make_student, make_user
from tests.test_code_health import run_python

LONDON = ZoneInfo("Europe/London")
DELAY = timedelta(minutes=15)


@pytest.fixture(autouse=True)
def notice_settings(settings):
    settings.TIME_ZONE = "Europe/London"
    settings.SCHOOL_NAME = "Hilltop School"
    settings.NOTICE_CONTACT = "the school office (office@hilltop.example, 01234 567890)"
    settings.NOTICE_ABSENCE_DELAY_MINUTES = DELAY.total_seconds() / 60
    settings.NOTICE_REMINDER_AFTER_MINUTES = 30
    settings.NOTICE_RETRY_BASE_SECONDS, settings.NOTICE_RETRY_MAX_SECONDS = 60, 3600
    settings.NOTICE_MAX_ATTEMPTS = 10
    settings.ATTENDANCE_THRESHOLD_PERCENT = 80


def london(*args):
    return datetime(*args, tzinfo=LONDON)


def session_of(course, starts_at, minutes=60, room=None):
    return make_session(course, starts_at, minutes=minutes, room=room)


@pytest.fixture
def course(db):
    teacher = make_user("tess", email="tess@hilltop.example", first_name="Tess", last_name="Teacher")
    return make_course("MATH1", teacher=teacher)


def enrol(course, number, name, guardian_email=""):
    student = make_student(number, name)
    student.guardian_email = guardian_email
    student.save()
    course.students.add(student)
    return student


def notices_recorded_after_close(session):
    """Record the absence notices due once the delay after the close has passed; returns that moment."""
    session.refresh_from_db()
    now = session.closed_at + DELAY
    notices.record_absence_notices(now)
    return now


def send_after_close(session, extra=timedelta()):
    """What beat does once the absence delay after the close has passed (plus extra)."""
    session.refresh_from_db()
    now = session.closed_at + DELAY + extra
    notices.record_absence_notices(now)
    return notices.send_due_notices(now)


def body_of(message):
    return message.get_content().replace("\r\n", "\n")  # SMTP carries lines ending in CRLF


def delivered_to(server):
    return sorted(str(message["To"]) for message in server.messages)


# ---- guardians -------------------------------------------------------------------------------


def test_a_guardian_gets_one_notice_in_the_school_s_words_after_the_delay(smtp, course):
    ada = enrol(course, "S1", "Ada Lovelace", "ada.parent@home.example")
    # A June session: the school's clock says 09:00 BST while the database holds 08:00 UTC.
    session = session_of(course, london(2026, 6, 15, 9, 0), room="B12")
    close_session(session, course.teachers.get())
    session.refresh_from_db()

    notices.record_absence_notices(session.closed_at + DELAY - timedelta(seconds=1))
    assert notices.send_due_notices(session.closed_at + DELAY) == 0 and Notice.objects.count() == 0

    assert send_after_close(session) == 1
    [message] = smtp.messages
    assert str(message["To"]) == "ada.parent@home.example"
    assert message["From"] == "Roll Call <attendance@school.example>"
    assert message["Subject"] == "Absence: Ada Lovelace, MATH1 on Mon 15 Jun 09:00"
    assert message["Auto-Submitted"] == "auto-generated"
    body = body_of(message)
    assert body.startswith(
        "Dear parent or guardian of Ada Lovelace,\n\n"
        "Ada Lovelace was marked absent from MATH1 Course MATH1 on Monday 15 June 2026, 09:00 to 10:00 (BST), "
        "room B12.\n\n"
        "If Ada Lovelace was there, or the absence has a reason the school should know, please contact "
        "the school office (office@hilltop.example, 01234 567890) or the course's teacher (Tess Teacher)."
    )
    assert "Hilltop School" in body
    assert not any(word in body.lower() for word in ("photo", "face", "distance", "recognis"))
    notice = Notice.objects.get()
    assert (notice.kind, notice.student, notice.session, notice.attempts) == (Notice.ABSENCE, ada, session, 1)
    assert notice.sent_at is not None and notice.status == "sent"
    assert message["Message-ID"] == f"<rollcall-notice-{notice.pk}@school.example>"


def test_closing_twice_and_running_again_sends_nothing_twice(smtp, course):
    enrol(course, "S1", "Ada Lovelace", "ada.parent@home.example")
    session = session_of(course, london(2026, 3, 2, 9, 0))
    teacher = course.teachers.get()
    close_session(session, teacher)
    assert send_after_close(session) == 1
    close_session(session, teacher)
    assert send_after_close(session) == 0
    assert send_after_close(session, extra=timedelta(hours=2)) == 0
    # A teacher who marks the student absent again by hand changes nothing either.
    set_status(session, session.course.students.get(), AttendanceRecord.ABSENT, teacher, "checked")
    assert send_after_close(session, extra=timedelta(hours=3)) == 0
    assert len(smtp.messages) == 1 and Notice.objects.count() == 1


def test_only_students_still_absent_and_with_a_guardian_e_mail_get_a_notice(smtp, course):
    teacher = course.teachers.get()
    enrol(course, "S1", "Ada Lovelace", "ada.parent@home.example")
    bob = enrol(course, "S2", "Bob Babbage", "bob.parent@home.example")
    cyd = enrol(course, "S3", "Cyd Charisse", "cyd.parent@home.example")
    enrol(course, "S4", "Dan Dare")  # no guardian e-mail: no notice, and no row
    eve = enrol(course, "S5", "Eve Evans", "eve.parent@home.example")
    eve.is_active = False
    eve.save()
    session = session_of(course, london(2026, 3, 2, 9, 0))
    mark_seen(session, bob, session.starts_at + timedelta(minutes=2), AttendanceRecord.PHOTO, 0.2)
    close_session(session, teacher)
    set_status(session, cyd, AttendanceRecord.EXCUSED, teacher, "dentist")

    assert send_after_close(session) == 1
    assert delivered_to(smtp) == ["ada.parent@home.example"]
    assert list(Notice.objects.values_list("student__full_name", flat=True)) == ["Ada Lovelace"]


def test_a_photo_taken_before_the_close_still_being_recognised_holds_the_notices_until_it_is_done(smtp, course):
    ada = enrol(course, "S1", "Ada Lovelace", "ada.parent@home.example")
    enrol(course, "S2", "Bob Babbage", "bob.parent@home.example")
    session = session_of(course, london(2026, 3, 2, 9, 0))
    photo = Capture.objects.create(session=session, image="captures/class.jpg", taken_at=session.starts_at)
    close_session(session, course.teachers.get())

    assert send_after_close(session) == 0 and Notice.objects.count() == 0
    # The photo is recognised at last: Ada was there, and her absence at close is overridden.
    mark_seen(session, ada, photo.taken_at, AttendanceRecord.PHOTO, 0.2)
    Capture.objects.filter(pk=photo.pk).update(status=Capture.DONE)
    assert send_after_close(session, extra=timedelta(minutes=1)) == 1
    assert delivered_to(smtp) == ["bob.parent@home.example"]


def test_the_people_app_learns_of_a_photo_being_recognised_only_through_the_app_that_registered_it(smtp, course):
    """students asks about a session's photos through students/session_photos.py alone: with
    no photos app registered (the people app on its own), a queued photo holds nothing back."""
    enrol(course, "S1", "Ada Lovelace", "ada.parent@home.example")
    session = session_of(course, london(2026, 3, 2, 9, 0))
    Capture.objects.create(session=session, image="captures/class.jpg", taken_at=session.starts_at)
    close_session(session, course.teachers.get())
    registered = session_photos.session_photos()
    session_photos.register(session_photos.NoPhotos())
    try:
        assert send_after_close(session) == 1
    finally:
        session_photos.register(registered)
    assert delivered_to(smtp) == ["ada.parent@home.example"]


def test_a_session_closed_longer_ago_than_a_day_sends_no_notice_when_notices_are_turned_on(smtp, course):
    enrol(course, "S1", "Ada Lovelace", "ada.parent@home.example")
    session = session_of(course, london(2026, 3, 2, 9, 0))
    close_session(session, course.teachers.get())
    assert send_after_close(session, extra=notices.ABSENCE_LOOKBACK) == 0
    assert smtp.messages == []


# ---- a server that refuses, then accepts -----------------------------------------------------


@pytest.mark.parametrize(
    "command, reply, error",
    [
        ("DATA", "451 4.3.0 Try again later", "SMTPDataError: (451"),
        ("RCPT", "421 4.7.0 Too busy, closing the connection", "SMTPRecipientsRefused"),
        (None, "the server is down", "ConnectionRefusedError"),
    ],
    ids=["451-at-DATA", "421-at-RCPT", "server-down"],
)
def test_a_refused_notice_is_retried_with_backoff_and_delivered_exactly_once(smtp, course, command, reply, error):
    enrol(course, "S1", "Ada Lovelace", "ada.parent@home.example")
    session = session_of(course, london(2026, 3, 2, 9, 0))
    close_session(session, course.teachers.get())
    session.refresh_from_db()
    first = session.closed_at + DELAY
    if command:
        smtp.refuse_next(command, reply)
    else:
        smtp.stop()

    notices.record_absence_notices(first)
    assert notices.send_due_notices(first) == 0
    notice = Notice.objects.get()
    assert notice.attempts == 1 and notice.sent_at is None and notice.status == "retrying"
    assert notice.next_attempt_at == first + timedelta(seconds=60)
    assert notice.last_error.startswith(error), notice.last_error
    if not command:
        smtp.start()

    assert notices.send_due_notices(first + timedelta(seconds=59)) == 0  # not due yet
    assert notices.send_due_notices(first + timedelta(seconds=60)) == 1
    assert notices.send_due_notices(first + timedelta(hours=5)) == 0
    assert delivered_to(smtp) == ["ada.parent@home.example"]
    notice.refresh_from_db()
    assert (notice.attempts, notice.last_error, notice.next_attempt_at) == (2, "", None)


def test_the_wait_doubles_after_each_refusal_up_to_the_cap_and_then_the_notice_is_given_up(smtp, course, settings):
    settings.NOTICE_MAX_ATTEMPTS = 4
    settings.NOTICE_RETRY_MAX_SECONDS = 150
    enrol(course, "S1", "Ada Lovelace", "ada.parent@home.example")
    session = session_of(course, london(2026, 3, 2, 9, 0))
    close_session(session, course.teachers.get())
    now = notices_recorded_after_close(session)
    smtp.refuse_next("DATA", "451 4.3.0 Try again later", times=4)
    waits = []
    for _ in range(4):
        notices.send_due_notices(now)
        notice = Notice.objects.get()
        if notice.next_attempt_at is None:
            break
        waits.append((notice.next_attempt_at - now).total_seconds())
        now = notice.next_attempt_at
    assert waits == [60, 120, 150]
    assert (notice.attempts, notice.status) == (4, "failed")
    assert notices.send_due_notices(now + timedelta(days=1)) == 0 and smtp.messages == []


def test_a_mailbox_refused_for_good_is_not_retried_and_the_others_still_go(smtp, course):
    enrol(course, "S1", "Ada Lovelace", "nobody@home.example")
    enrol(course, "S2", "Bob Babbage", "bob.parent@home.example")
    session = session_of(course, london(2026, 3, 2, 9, 0))
    close_session(session, course.teachers.get())
    smtp.refuse_next("RCPT", "550 5.1.1 No such mailbox")  # Ada's notice goes first (by name)
    assert send_after_close(session) == 1
    assert delivered_to(smtp) == ["bob.parent@home.example"]
    refused = Notice.objects.get(recipient="nobody@home.example")
    assert refused.status == "failed" and "550" in refused.last_error
    assert send_after_close(session, extra=timedelta(days=1)) == 0


def test_a_student_named_with_a_line_break_gets_a_one_line_subject(smtp, course):
    # However the name got in (a quoted OneRoster field, a script), it is saved on one line.
    enrol(course, "S1", "Ada\nLovelace", "ada.parent@home.example")
    session = session_of(course, london(2026, 3, 2, 9, 0))
    close_session(session, course.teachers.get())
    assert send_after_close(session) == 1
    [message] = smtp.messages
    assert message["Subject"] == "Absence: Ada Lovelace, MATH1 on Mon 2 Mar 09:00"


def test_a_notice_that_cannot_be_sent_fails_with_its_error_and_the_others_still_go(smtp, course):
    enrol(course, "S1", "Ada Lovelace", "ada.parent@home.example")
    enrol(course, "S2", "Bob Babbage", "bob.parent@home.example")
    enrol(course, "S3", "Cyd Charisse", "cyd.parent@home.example")
    session = session_of(course, london(2026, 3, 2, 9, 0))
    close_session(session, course.teachers.get())
    now = notices_recorded_after_close(session)
    # As a notice recorded before names were kept on one line would be: Django refuses the
    # header (BadHeaderError), and it goes first.
    Notice.objects.filter(student__full_name="Ada Lovelace").update(subject="Absence: Ada\nLovelace")

    assert notices.send_due_notices(now) == 2
    assert delivered_to(smtp) == ["bob.parent@home.example", "cyd.parent@home.example"]
    bad = Notice.objects.get(student__full_name="Ada Lovelace")
    assert (bad.status, bad.attempts) == ("failed", 1)
    assert bad.last_error.startswith("BadHeaderError:"), bad.last_error
    assert notices.send_due_notices(now + timedelta(days=1)) == 0 and len(smtp.messages) == 2


def test_a_notice_whose_runs_all_died_is_given_up_at_the_attempt_limit(smtp, course, settings):
    settings.NOTICE_MAX_ATTEMPTS = 3
    enrol(course, "S1", "Ada Lovelace", "ada.parent@home.example")
    session = session_of(course, london(2026, 3, 2, 9, 0))
    close_session(session, course.teachers.get())
    now = notices_recorded_after_close(session)
    # Three runs claimed it and died before recording anything: the claim's lease ran out.
    Notice.objects.update(attempts=3, next_attempt_at=now)

    assert notices.send_due_notices(now) == 0
    notice = Notice.objects.get()
    assert (notice.status, notice.attempts) == ("failed", 3) and smtp.messages == []
    assert "Given up after 3 attempts" in notice.last_error


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_each_notice_once(smtp):
    course = make_course("MATH1", teacher=make_user("tess", email="tess@hilltop.example"))
    for number in range(1, 5):
        enrol(course, f"S{number}", f"Student {number}", f"parent{number}@home.example")
    session = session_of(course, london(2026, 3, 2, 9, 0))
    close_session(session, course.teachers.get())
    session.refresh_from_db()
    now = session.closed_at + DELAY
    notices.record_absence_notices(now)
    smtp.handler.data_delay = 0.3  # both runs see every notice due before the first is sent
    sent = []

    def beat_run():
        try:
            sent.append(notices.send_due_notices(now))
        finally:
            connection.close()

    runs = [threading.Thread(target=beat_run) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join(timeout=60)
    assert sum(sent) == 4 and len(sent) == 2
    assert len(smtp.messages) == 4 and len({message["Message-ID"] for message in smtp.messages}) == 4
    assert set(Notice.objects.values_list("attempts", flat=True)) == {1}


# ---- teachers --------------------------------------------------------------------------------


def test_the_weekly_digest_lists_exactly_the_students_below_the_threshold_to_each_teacher(smtp, course):
    course.teachers.add(
        make_user("theo", email="theo@hilltop.example", first_name="Theo", last_name="Tutor"),
        make_user("no_mail"),  # a teacher without an e-mail address gets nothing
    )
    teacher = course.teachers.get(username="tess")
    ada = enrol(course, "S1", "Ada Lovelace")
    bob = enrol(course, "S2", "Bob Babbage")
    cyd = enrol(course, "S3", "Cyd Charisse")
    dan = enrol(course, "S4", "Dan Dare")
    fine = make_course("ART1", teacher=teacher, students=[bob])
    art = session_of(fine, london(2026, 2, 23, 9, 0))
    set_status(art, bob, AttendanceRecord.PRESENT, teacher)
    sessions = [session_of(course, london(2026, 2, 23 + day, 9, 0)) for day in range(5)]
    attended = {ada: 2, bob: 5, cyd: 4, dan: 3}  # 40%, 100%, 80% (not below), 3 of 4 = 75%
    for student, count in attended.items():
        for session in sessions[:count]:
            set_status(session, student, AttendanceRecord.PRESENT, teacher)
    set_status(sessions[4], dan, AttendanceRecord.EXCUSED, teacher, "ill")

    assert tasks.send_weekly_digests() == 2
    assert tasks.send_weekly_digests() == 0  # the same week: nothing again
    assert delivered_to(smtp) == ["tess@hilltop.example", "theo@hilltop.example"]
    message = next(message for message in smtp.messages if str(message["To"]) == "tess@hilltop.example")
    week = notices.start_of_week(datetime.now(LONDON))
    assert message["Subject"] == f"Attendance below 80%: MATH1 Course MATH1, week of {week.day} {week:%B %Y}"
    body = body_of(message)
    assert body.startswith("Dear Tess Teacher,\n\nThese students of MATH1 Course MATH1 have attended less than 80%")
    listed = [line for line in body.splitlines() if line.startswith("  ")]
    assert listed == ["  Ada Lovelace (S1): 40%, 2 of 5 sessions", "  Dan Dare (S4): 75%, 3 of 4 sessions"]
    next_week = datetime.now(LONDON) + timedelta(days=7)
    assert notices.record_weekly_digests(next_week) == 2


def test_a_reminder_goes_only_for_a_session_that_ended_today_with_no_photo_and_no_mark(smtp, course):
    teacher = course.teachers.get()
    ada = enrol(course, "S1", "Ada Lovelace")
    now = london(2026, 3, 4, 15, 0)
    forgotten = session_of(course, london(2026, 3, 4, 9, 0), room="B12")
    just_ended = session_of(course, london(2026, 3, 4, 13, 50))  # ended 14:50: not yet
    photographed = session_of(course, london(2026, 3, 4, 10, 0))
    Capture.objects.create(session=photographed, image="captures/class.jpg", taken_at=photographed.starts_at)
    marked = session_of(course, london(2026, 3, 4, 11, 0))
    set_status(marked, ada, AttendanceRecord.PRESENT, teacher)
    session_of(course, london(2026, 3, 3, 14, 0))  # yesterday
    session_of(course, london(2026, 3, 4, 14, 30))  # still running

    assert notices.record_attendance_reminders(now) == 1
    assert notices.send_due_notices(now) == 1
    [message] = smtp.messages
    assert str(message["To"]) == "tess@hilltop.example"
    assert message["Subject"] == "Attendance not taken: MATH1 on Wed 4 Mar 09:00"
    assert body_of(message).startswith(
        "Dear Tess Teacher,\n\nNo class photo and no attendance mark has been recorded for MATH1 Course MATH1 "
        "on Wednesday 4 March 2026, 09:00 to 10:00 (GMT), room B12."
    )
    later = london(2026, 3, 4, 15, 20)
    assert notices.record_attendance_reminders(later) == 1  # the 14:50 one, 30 minutes on
    assert Notice.objects.filter(session=just_ended).exists()
    assert notices.record_attendance_reminders(later) == 0
    assert Notice.objects.filter(session=forgotten).count() == 1


# ---- admin and settings ----------------------------------------------------------------------


def test_the_admin_lists_notices_by_status_and_changes_none(client, smtp, course):
    enrol(course, "S1", "Ada Lovelace", "nobody@home.example")
    enrol(course, "S2", "Bob Babbage", "bob.parent@home.example")
    session = session_of(course, london(2026, 3, 2, 9, 0))
    close_session(session, course.teachers.get())
    smtp.refuse_next("RCPT", "550 5.1.1 No such mailbox")
    send_after_close(session)
    client.force_login(make_user("boss", is_staff=True, is_superuser=True))

    failed = client.get("/admin/students/notice/?status=failed").content.decode()
    assert "nobody@home.example" in failed and "bob.parent@home.example" not in failed
    sent = client.get("/admin/students/notice/?status=sent").content.decode()
    assert "bob.parent@home.example" in sent and "nobody@home.example" not in sent
    notice = Notice.objects.get(recipient="bob.parent@home.example")
    page = client.get(f"/admin/students/notice/{notice.pk}/change/").content.decode()
    assert "Bob Babbage was marked absent" in page and 'name="_save"' not in page
    assert client.get("/admin/students/notice/add/").status_code == 403
    assert client.post(f"/admin/students/notice/{notice.pk}/delete/", {"post": "yes"}).status_code == 403


def test_guardian_email_is_on_the_student_admin_page(client, course):
    ada = enrol(course, "S1", "Ada Lovelace", "ada.parent@home.example")
    client.force_login(make_user("boss", is_staff=True, is_superuser=True))
    page = client.get(f"/admin/students/student/{ada.pk}/change/").content.decode()
    assert 'name="guardian_email"' in page and "ada.parent@home.example" in page


E_MAIL_SETTINGS = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.EMAIL_BACKEND.rpartition('.')[0].rpartition('.')[2], s.EMAIL_HOST or '-', s.EMAIL_PORT, s.EMAIL_USE_TLS, "
    "s.CELERY_BEAT_SCHEDULE['send-notices']['schedule'], s.CELERY_BEAT_SCHEDULE['weekly-attendance-digest']['task'])"
)


def test_mail_is_printed_to_the_console_until_email_host_names_the_school_s_server():
    site = {"DJANGO_SETTINGS_MODULE": "attendance_site.settings"}
    unset = {name: None for name in ("EMAIL_HOST", "EMAIL_PORT", "EMAIL_USE_TLS", "NOTICE_RUN_SECONDS")}
    result = run_python(E_MAIL_SETTINGS, **site, **unset)
    assert result.stdout.split() == ["console", "-", "587", "True", "60.0", "students.tasks.send_weekly_digests"], (
        result.stderr
    )
    result = run_python(
        E_MAIL_SETTINGS,
        **site,
        EMAIL_HOST="smtp.school.example",
        EMAIL_PORT="25",
        EMAIL_USE_TLS="0",
        NOTICE_RUN_SECONDS="120",
    )
    assert result.stdout.split()[:5] == ["smtp", "smtp.school.example", "25", "False", "120.0"], result.stderr
