"""Notices that go out by e-mail, in the school's words.

- Guardians: one absence notice per student per closed session, NOTICE_ABSENCE_DELAY_MINUTES
  after the close, for the students still absent (not excused) then. A photo taken before the
  close may still be recognised after it and turn the absence into present or late, so the
  notice waits, and it waits longer while any such photo of the session is still queued or being
  recognised.
- Teachers: a weekly digest per course of the students below ATTENDANCE_THRESHOLD_PERCENT (as
  students/overview.py counts: a session nobody took is nobody's absence), and a same-day
  reminder for a session that ended not taken (no photo, no mark, no close).

Every notice is a Notice row before it is sent; the row's natural key (a unique constraint per
kind) makes recording it again a no-op, and a run sends only rows it claimed with a conditional
update, so neither a re-close, a retry nor two beat runs at once send anything twice. A refused
notice is tried again by a later beat run after an exponential backoff (next_attempt_at).
Messages name the student, course and session time and whom to contact; nothing biometric.
"""

import logging
import smtplib
from datetime import datetime, time, timedelta
from email.utils import parseaddr

from django.conf import settings
from django.db.models import Exists, F, OuterRef
from django.template.defaultfilters import floatformat
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from .mail import guardian_language, send_email, teacher_language
from .models import AttendanceRecord, ClassSession, Course, Notice
from .names import person_name
from .overview import PERCENTAGE_RULE, attendance_rows, attended_and_counted, held_sessions
from .session_photos import session_photos
from .times import session_time

log = logging.getLogger(__name__)

# A notice about an absence older than this is no news to a guardian, and turning notices on
# must not send a year of past absences.
ABSENCE_LOOKBACK = timedelta(days=1)
# A claimed notice whose run died before recording the outcome is tried again after this.
CLAIM_LEASE = timedelta(minutes=10)


# --- In the school's words ------------------------------------------------------------------
# Each message is written in its reader's language (students/mail.py: guardian_language,
# teacher_language), with the dates and times of that language.


def school_name():
    return settings.SCHOOL_NAME or _("the school")


def notice_contact():
    return settings.NOTICE_CONTACT or _("the school office")


def dpo_contact():
    return settings.DPO_CONTACT or _("the school's data protection officer, through the school office")


def session_in_full(session):
    """'Monday 2 March 2026, 09:00 to 10:00 (GMT), room B12'."""
    room = _(", room %(room)s") % {"room": session.room} if session.room else ""
    return session_time(session, "letter") + room


def teacher_names(course):
    names = [person_name(teacher) for teacher in course.teachers.all()]
    return ", ".join(names) or _("the course's teacher")


def letter(addressee, *paragraphs):
    signature = _("This is an automatic message from %(school)s's attendance system (Roll Call).") % {
        "school": school_name()
    }
    return "\n\n".join([_("Dear %(addressee)s,") % {"addressee": addressee}, *paragraphs, signature]) + "\n"


def session_in_brief(session):
    """'MATH1 on Mon 15 Jun 09:00', for a subject line."""
    return _("%(course)s on %(when)s") % {"course": session.course.code, "when": session_time(session, "brief")}


def absence_message(session, student):
    """The subject and body of the notice to the student's guardian, in the guardian's language."""
    with translation.override(guardian_language(student)):
        course, name = session.course, student.full_name
        words = {
            "name": name,
            "course": f"{course.code} {course.name}",
            "when": session_in_full(session),
            "contact": notice_contact(),
            "teachers": teacher_names(course),
        }
        return _("Absence: %(name)s, %(session)s") % {"name": name, "session": session_in_brief(session)}, letter(
            _("parent or guardian of %(name)s") % words,
            _("%(name)s was marked absent from %(course)s on %(when)s.") % words,
            _(
                "If %(name)s was there, or the absence has a reason the school should know, please contact "
                "%(contact)s or the course's teacher (%(teachers)s)."
            )
            % words,
        )


def digest_line(row):
    attended, counted = attended_and_counted(row.statuses)
    student = row.student
    return "  " + _("%(name)s (%(number)s): %(percentage)s%%, %(attended)d of %(counted)d sessions") % {
        "name": student.full_name,
        "number": student.student_number,
        "percentage": floatformat(row.percentage, -1),
        "attended": attended,
        "counted": counted,
    }


def digest_message(course, teacher, rows, week):
    with translation.override(teacher_language(teacher)):
        words = {
            "threshold": f"{floatformat(settings.ATTENDANCE_THRESHOLD_PERCENT, -1)}%",
            "course": f"{course.code} {course.name}",
            "week": date_format(week, "j F Y"),
            "contact": notice_contact(),
        }
        return _("Attendance below %(threshold)s: %(course)s, week of %(week)s") % words, letter(
            person_name(teacher),
            _("These students of %(course)s have attended less than %(threshold)s of the sessions held so far:")
            % words,
            "\n".join(digest_line(row) for row in rows),
            str(PERCENTAGE_RULE),
            _("Questions about these figures: %(contact)s.") % words,
        )


def reminder_message(session, teacher):
    with translation.override(teacher_language(teacher)):
        course = session.course
        words = {"course": f"{course.code} {course.name}", "when": session_in_full(session)}
        return _("Attendance not taken: %(session)s") % {"session": session_in_brief(session)}, letter(
            person_name(teacher),
            _("No class photo and no attendance mark has been recorded for %(course)s on %(when)s.") % words,
            _(
                "Please take the attendance today on the session's page in Roll Call: upload the class photo or set "
                "each student's status."
            ),
            _("Questions: %(contact)s.") % {"contact": notice_contact()},
        )


# --- What is due: recording notices ---------------------------------------------------------


def teachers_to_notify(course, kind, key):
    """The course's teachers with an e-mail address who have no such notice (key) yet."""
    notified = Notice.objects.filter(kind=kind, **key).values("recipient")
    return course.teachers.filter(is_active=True).exclude(email="").exclude(email__in=notified)


def sessions_due_for_absence_notices(now):
    closed_by = now - timedelta(minutes=settings.NOTICE_ABSENCE_DELAY_MINUTES)
    return (
        ClassSession.objects.filter(closed_at__lte=closed_by, closed_at__gt=closed_by - ABSENCE_LOOKBACK)
        .exclude(session_photos().being_recognised_before_close())
        .select_related("course")
    )


def absences_without_notice(session):
    notified = Notice.objects.filter(kind=Notice.ABSENCE, session=session, student=OuterRef("student"))
    return (
        # A record outside the student's membership (marked before they joined) is no absence.
        session.attendance.filter(status=AttendanceRecord.ABSENT, student__in=session.members())
        .exclude(student__guardian_email="")
        .exclude(Exists(notified))
        .select_related("student")
    )


def absence_notice(session, student, now):
    subject, body = absence_message(session, student)
    return Notice(
        kind=Notice.ABSENCE,
        recipient=student.guardian_email,
        student=student,
        session=session,
        course=session.course,
        subject=subject,
        body=body,
        next_attempt_at=now,
    )


def record_absence_notices(now=None):
    """Record a notice for each student still absent from a session closed long enough ago.
    A student without a guardian e-mail gets none and no row. Returns how many were recorded."""
    now = now or timezone.now()
    notices = [
        absence_notice(session, record.student, now)
        for session in sessions_due_for_absence_notices(now)
        for record in absences_without_notice(session)
    ]
    return len(Notice.objects.bulk_create(notices, ignore_conflicts=True))


def start_of_week(now):
    today = timezone.localdate(now)
    return today - timedelta(days=today.weekday())


def record_weekly_digests(now=None):
    """One digest per teacher of each course with students below the threshold; a course with
    none sends nothing. The week's Monday is the key: a second run that week records nothing."""
    now = now or timezone.now()
    week = start_of_week(now)
    notices = []
    for course in Course.objects.prefetch_related("teachers"):
        students = course.students.active()
        below = [row for row in attendance_rows(held_sessions(course, now), students, now) if row.below_threshold]
        if not below:
            continue
        for teacher in teachers_to_notify(course, Notice.DIGEST, {"course": course, "week": week}):
            subject, body = digest_message(course, teacher, below, week)
            notices.append(
                Notice(
                    kind=Notice.DIGEST,
                    recipient=teacher.email,
                    course=course,
                    week=week,
                    subject=subject,
                    body=body,
                    next_attempt_at=now,
                )
            )
    return len(Notice.objects.bulk_create(notices, ignore_conflicts=True))


def sessions_without_attendance(now):
    """Sessions that ended today, at least NOTICE_REMINDER_AFTER_MINUTES ago, and were not taken
    (ClassSessionQuerySet.with_taken: no class photo, no attendance record, no close)."""
    start_of_today = timezone.make_aware(datetime.combine(timezone.localdate(now), time.min))
    ended_by = now - timedelta(minutes=settings.NOTICE_REMINDER_AFTER_MINUTES)
    return (
        ClassSession.objects.not_cancelled()
        .not_taken()
        .filter(ends_at__gte=start_of_today, ends_at__lte=ended_by)
        .select_related("course")
    )


def record_attendance_reminders(now=None):
    now = now or timezone.now()
    notices = []
    for session in sessions_without_attendance(now):
        for teacher in teachers_to_notify(session.course, Notice.REMINDER, {"session": session}):
            subject, body = reminder_message(session, teacher)
            notices.append(
                Notice(
                    kind=Notice.REMINDER,
                    recipient=teacher.email,
                    session=session,
                    course=session.course,
                    subject=subject,
                    body=body,
                    next_attempt_at=now,
                )
            )
    return len(Notice.objects.bulk_create(notices, ignore_conflicts=True))


# --- Sending, once --------------------------------------------------------------------------


def retry_delay(attempts):
    """Seconds to wait after the attempts-th failed attempt: doubling, capped."""
    return min(settings.NOTICE_RETRY_MAX_SECONDS, settings.NOTICE_RETRY_BASE_SECONDS * 2 ** (attempts - 1))


def is_refused_for_good(error):
    """This message can never be sent as it is: the server refused it with a permanent (5xx)
    answer (an unknown mailbox, a rejected message), or it cannot even be written (a header
    Django refuses, BadHeaderError, is a ValueError)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPDataError):
        return error.smtp_code >= 500
    return isinstance(error, ValueError)


def is_about_the_server(error):
    """A failure of the server or of our settings, not of this notice (a 4xx answer, no
    connection, a failed login, a refused sender): the next notices would fail alike."""
    return isinstance(error, (smtplib.SMTPException, OSError)) and not is_refused_for_good(error)


def message_id(notice):
    # The same id on every attempt: a receiving system that saw a message twice (a run that died
    # after the server took it) can tell it is one message.
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    return f"<rollcall-notice-{notice.pk}@{domain}>"


def deliver(notice):
    """Hand the notice to the e-mail backend. Returns None, or the error the server gave."""
    headers = {"Message-ID": message_id(notice), "Auto-Submitted": "auto-generated"}
    try:
        send_email(notice.subject, notice.body, notice.recipient, headers)
    except Exception as error:  # noqa: BLE001 - whatever fails is recorded on this notice, and the run goes on
        if not isinstance(error, (smtplib.SMTPException, OSError, ValueError)):
            log.exception("Notice %s could not be sent", notice.pk)
        return error
    return None


def claim(notice, now):
    """Take the notice for this run. A conditional update, so of two runs at once only one gets
    it; its next_attempt_at moves past the lease, after which a run that died is replaced."""
    return bool(
        Notice.objects.filter(pk=notice.pk, sent_at__isnull=True, next_attempt_at=notice.next_attempt_at).update(
            next_attempt_at=now + CLAIM_LEASE, attempts=F("attempts") + 1
        )
    )


def record_failure(notice, error, now):
    attempts = notice.attempts + 1
    gives_up = is_refused_for_good(error) or attempts >= settings.NOTICE_MAX_ATTEMPTS
    Notice.objects.filter(pk=notice.pk).update(
        last_error=f"{error.__class__.__name__}: {error}"[:2000],
        next_attempt_at=None if gives_up else now + timedelta(seconds=retry_delay(attempts)),
    )


def give_up_if_out_of_attempts(notice):
    """A notice claimed NOTICE_MAX_ATTEMPTS times whose runs all died before recording how it
    went (a worker killed mid-send) is given up like one refused that often. Returns whether."""
    if notice.attempts < settings.NOTICE_MAX_ATTEMPTS:
        return False
    said = f" The last error: {notice.last_error}" if notice.last_error else ""
    Notice.objects.filter(pk=notice.pk, sent_at__isnull=True).update(
        next_attempt_at=None,
        last_error=f"Given up after {notice.attempts} attempts; the last ones stopped before recording how "
        f"they went.{said}"[:2000],
    )
    return True


def due_notices(now):
    return Notice.objects.filter(sent_at__isnull=True, next_attempt_at__lte=now).order_by("next_attempt_at", "pk")


def send_due_notices(now=None):
    """Send every due notice this run can claim. One notice's failure is recorded on it and
    the run goes on to the next; only when the server fails, for a reason that is not this
    message's, does the run stop: the rest wait for the next run without spending an attempt.
    Returns how many were sent."""
    now = now or timezone.now()
    sent = 0
    for notice in due_notices(now):
        if give_up_if_out_of_attempts(notice) or not claim(notice, now):
            continue
        error = deliver(notice)
        if error is None:
            Notice.objects.filter(pk=notice.pk).update(sent_at=timezone.now(), next_attempt_at=None, last_error="")
            sent += 1
            continue
        record_failure(notice, error, now)
        if is_about_the_server(error):
            break
    return sent
