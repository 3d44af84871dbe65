"""What the charts and the school admins' "today" page show: plain lists and dicts, counted from
the attendance the pages already count (overview.py: the held sessions, each student's row of
records and their percentage), so that a chart never disagrees with the grid beside it.

A week is the Monday-to-Sunday week of a session's local start. Statuses are the grid's
(overview.student_status, in vocabulary's words): a session nobody took, or outside the student's
membership, is nobody's absence here either.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from . import vocabulary
from .models import ClassSession, Course
from .overview import ATTENDED, attendance_percentage, attendance_rows, attended_and_counted, held_sessions
from .times import session_time

STATUSES = (vocabulary.PRESENT, vocabulary.LATE, vocabulary.EXCUSED, vocabulary.ABSENT)


def status_name(status):
    # Read when a page is drawn, so that each person gets the words in their own language.
    return capfirst(vocabulary.status_word(status))


def week_of(session):
    start = timezone.localtime(session.starts_at).date()
    return start - timedelta(days=start.weekday())


def week_label(monday):
    # The day alone: a phone's chart has no room for more under each bar; the axis says "week starting".
    return date_format(monday, "j M")


def by_week(sessions, values):
    """The values (one per session, in the sessions' order) grouped by the sessions' week, in
    order: [(monday, [values of that week]), ...]."""
    weeks = {}
    for session, value in zip(sessions, values, strict=True):
        weeks.setdefault(week_of(session), []).append(value)
    return list(weeks.items())


# --- A course ---------------------------------------------------------------------------------


def weekly_status_counts(sessions, rows):
    """Per week of the course's held sessions, how many of its students' sessions were present,
    late, excused and absent: {"axis", "labels": [week...], "series": [{"status", "name", "counts"}...]}."""
    sessions = list(sessions)
    per_session = [[row.statuses[index] for row in rows] for index in range(len(sessions))]
    weeks = [(monday, sum(week, [])) for monday, week in by_week(sessions, per_session)]
    return {
        "axis": _("Week starting"),
        "labels": [week_label(monday) for monday, _statuses in weeks],
        "series": [
            {
                "status": status,
                "name": status_name(status),
                "counts": [statuses.count(status) for _monday, statuses in weeks],
            }
            for status in STATUSES
        ],
    }


def student_percentages(rows):
    """Each student's percentage, the course page's, for a bar each, and the threshold's line."""
    return {
        "labels": [row.student.full_name for row in rows],
        "values": [row.percentage for row in rows],
        "below": [row.below_threshold for row in rows],
        "threshold": settings.ATTENDANCE_THRESHOLD_PERCENT,
    }


# --- A student --------------------------------------------------------------------------------


def weekly_percentages(sessions, row):
    """The student's percentage in each week of the course's held sessions (a week of excused
    sessions only has none): {"axis", "labels", "values", "threshold"}."""
    weeks = by_week(list(sessions), row.statuses)
    return {
        "axis": _("Week starting"),
        "labels": [week_label(monday) for monday, _statuses in weeks],
        "values": [attendance_percentage(statuses) for _monday, statuses in weeks],
        "threshold": settings.ATTENDANCE_THRESHOLD_PERCENT,
    }


def session_strip(sessions, row):
    """One cell per session taken while the student was in the course, oldest first: when, and
    the student's status there, in the grid's words and letters."""
    return [
        {
            "session": session,
            "when": session_time(session, "brief"),
            "status": status,
            "name": status_name(status),
            "letter": vocabulary.LETTERS.get(status, "–"),
        }
        for session, status in zip(sessions, row.statuses, strict=True)
        if status != vocabulary.NOT_ENROLLED
    ]


@dataclass
class StudentCourseReport:
    trend: dict
    strip: list


def student_course_report(student, course):
    sessions = list(held_sessions(course))
    row = attendance_rows(sessions, [student])[0]
    return StudentCourseReport(weekly_percentages(sessions, row), session_strip(sessions, row))


# --- The school today -------------------------------------------------------------------------


@dataclass
class TodaysSession:
    session: object
    on_now: bool
    taken: bool
    enrolled: int
    attended: int

    @property
    def percentage_present(self):
        if not self.taken or not self.enrolled:
            return None
        return round(100 * self.attended / self.enrolled, 1)


def todays_sessions(now=None):
    """Every session of today not cancelled, by start: whether it is on now, whether its
    attendance was taken (it has a class photo or a record, or was closed) and how many of its
    enrolled students were there (present or late)."""
    now = now or timezone.now()
    sessions = (
        ClassSession.objects.not_cancelled()
        .with_taken()
        .filter(starts_at__date=timezone.localdate(now))
        .select_related("course", "room")
        .order_by("starts_at", "course__code")
    )
    today = []
    for session in sessions:
        enrolled = session.members()
        attended = session.attendance.filter(status__in=ATTENDED, student__in=enrolled).count()
        today.append(
            TodaysSession(
                session,
                on_now=session.starts_at <= now < session.ends_at and session.closed_at is None,
                taken=session.is_taken,
                enrolled=enrolled.count(),
                attended=attended,
            )
        )
    return today


def school_history(now=None):
    """Every active student's statuses in the held sessions of all their courses, oldest first:
    {student: [(session, status), ...]}, counted course by course as the course pages count."""
    history = defaultdict(list)
    for course in Course.objects.order_by("code"):
        sessions = list(held_sessions(course, now))
        if sessions:
            for row in attendance_rows(sessions, list(course.students.active())):
                history[row.student].extend(zip(sessions, row.statuses, strict=True))
    for entries in history.values():
        entries.sort(key=lambda entry: entry[0].starts_at)
    return history


def absence_streak(entries):
    """The sessions missed in a row up to now, newest last: a present or late one ends the run;
    an excused one (the school knew), one not taken or outside the student's membership neither
    ends it nor counts in it."""
    streak = []
    for session, status in reversed(entries):
        if status in ATTENDED:
            break
        if status == vocabulary.ABSENT:
            streak.append(session)
    return streak[::-1]


@dataclass
class Streak:
    student: object
    sessions: list  # the sessions missed in a row, oldest first

    @property
    def since(self):
        return self.sessions[0]


def absent_in_a_row(history, at_least=None):
    """Students whose latest at_least (ABSENCE_STREAK) sessions or more were missed, longest first."""
    at_least = at_least or settings.ABSENCE_STREAK
    streaks = [Streak(student, absence_streak(entries)) for student, entries in history.items()]
    found = [streak for streak in streaks if len(streak.sessions) >= at_least]
    return sorted(found, key=lambda streak: (-len(streak.sessions), streak.student.full_name))


@dataclass
class ChronicAbsence:
    student: object
    percentage: float
    missed: int  # sessions absent, excused ones not counted
    counted: int


def chronically_absent(history, below=None):
    """Students whose attendance over all their courses is below `below` (CHRONIC_ABSENCE_BELOW),
    lowest first, by the same rule as each course's percentage."""
    below = settings.CHRONIC_ABSENCE_BELOW if below is None else below
    found = []
    for student, entries in history.items():
        statuses = [status for _session, status in entries]
        percentage = attendance_percentage(statuses)
        if percentage is not None and percentage < below:
            attended, counted = attended_and_counted(statuses)
            found.append(ChronicAbsence(student, percentage, counted - attended, counted))
    return sorted(found, key=lambda absence: (absence.percentage, absence.student.full_name))
