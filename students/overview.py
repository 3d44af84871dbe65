"""Attendance over a course: the students x sessions grid, each student's percentage, and the
word (students/vocabulary.py) for each session and each student in it.

How the percentage is computed (docs/teachers.md says the same to teachers, PERCENTAGE_RULE on
the pages):
    (present + late) ÷ (present + late + absent)
over the sessions that count for the student: the course's sessions that
- are not cancelled,
- were taken: a class photo, an attendance record or a close (ClassSessionQuerySet.with_taken),
- are over: ended, or closed (one still running is not counted: today's roll is not finished),
- fall inside the student's membership of the course (Membership: its start and end dates).
In such a session a student with no record is absent; an excused session counts neither way.
A session over that nobody took is "not taken": it counts for nobody and is nobody's absence.
None when nothing counts.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import vocabulary
from .models import AttendanceRecord, Membership
from .names import name_sort_key

ATTENDED = (vocabulary.PRESENT, vocabulary.LATE)
COUNTED = (*ATTENDED, vocabulary.ABSENT)
PERCENTAGE_RULE = _(
    "Attendance = (present + late) ÷ (present + late + absent), over the sessions taken (by a class photo, "
    "a mark or a close) that are over, while the student was in the course. A session nobody took is "
    "“not taken” and counts for nobody; excused and cancelled sessions never count; in a session taken, "
    "a student with no mark is absent."
)


def is_over(session, now):
    return session.closed_at is not None or session.ends_at <= now


def held_sessions(course, now=None, first_day=None, last_day=None):
    """The sessions that count: taken, over, not cancelled (each membership then picks its own),
    on the local dates from first_day to last_day when given."""
    now = now or timezone.now()
    sessions = course.sessions.not_cancelled().taken().filter(Q(closed_at__isnull=False) | Q(ends_at__lte=now))
    if first_day:
        sessions = sessions.filter(starts_at__date__gte=first_day)
    if last_day:
        sessions = sessions.filter(starts_at__date__lte=last_day)
    return sessions.select_related("room").order_by("starts_at")


def not_taken_sessions(course, now=None):
    """Sessions over that nobody took, newest first: the course page lists them to be taken."""
    now = now or timezone.now()
    return course.sessions.not_cancelled().not_taken().filter(ends_at__lte=now).order_by("-starts_at")


def upcoming_sessions(course, now=None):
    """Sessions on now or to come, cancelled ones included (the course page strikes them through)."""
    now = now or timezone.now()
    return course.sessions.filter(closed_at__isnull=True, ends_at__gt=now).select_related("room").order_by("starts_at")


def session_state(session, now=None):
    """The session's state (vocabulary.SESSION_STATES); session from with_taken()."""
    now = now or timezone.now()
    if session.is_cancelled:
        return vocabulary.CANCELLED
    if session.starts_at > now:
        return vocabulary.TO_COME
    if not is_over(session, now):
        return vocabulary.IN_PROGRESS
    return vocabulary.TAKEN if session.is_taken else vocabulary.NOT_TAKEN


def student_status(session, record, is_member, now=None):
    """A student's status in a session (vocabulary.STUDENT_STATUSES); session from with_taken()."""
    now = now or timezone.now()
    if not is_member:
        return vocabulary.NOT_ENROLLED
    if record is not None:
        return record.status
    if not is_over(session, now):
        return vocabulary.NOT_MARKED_YET
    return vocabulary.ABSENT if session.is_taken else vocabulary.NOT_TAKEN


def attended_and_counted(statuses):
    """statuses: a student's, one per session over. Returns the sessions attended and the
    sessions that count (present, late or absent)."""
    return sum(1 for status in statuses if status in ATTENDED), sum(1 for status in statuses if status in COUNTED)


def attendance_percentage(statuses):
    attended, counted = attended_and_counted(statuses)
    if counted == 0:
        return None
    return round(100 * attended / counted, 1)


def is_below_threshold(percentage):
    return percentage is not None and percentage < settings.ATTENDANCE_THRESHOLD_PERCENT


@dataclass
class Cell:
    status: str  # a key of vocabulary.STUDENT_STATUSES
    record: object = None

    @property
    def word(self):
        return vocabulary.status_word(self.status)

    @property
    def letter(self):
        return vocabulary.LETTERS.get(self.status, "–")


@dataclass
class StudentRow:
    student: object
    cells: list = field(default_factory=list)  # one Cell per session
    percentage: float | None = None

    @property
    def below_threshold(self):
        return is_below_threshold(self.percentage)

    @property
    def statuses(self):
        return [cell.status for cell in self.cells]

    @property
    def records(self):
        return [cell.record for cell in self.cells]


def memberships(sessions, students):
    """{(course id, student id): Membership} for the sessions' courses."""
    courses = {session.course_id for session in sessions}
    return {
        (membership.course_id, membership.student_id): membership
        for membership in Membership.objects.filter(course_id__in=courses, student__in=students)
    }


def attendance_rows(sessions, students, now=None):
    """One StudentRow per student with a Cell for each of the given sessions (from with_taken(),
    as held_sessions gives them), and their percentage over those that count."""
    now = now or timezone.now()
    sessions, students = list(sessions), list(students)
    records = AttendanceRecord.objects.filter(session__in=sessions, student__in=students)
    by_key = {(record.student_id, record.session_id): record for record in records}
    member_of = memberships(sessions, students)
    rows = []
    for student in students:
        cells = []
        for session in sessions:
            membership = member_of.get((session.course_id, student.pk))
            is_member = membership is not None and membership.covers(session.local_day)
            record = by_key.get((student.pk, session.pk))
            cells.append(Cell(student_status(session, record, is_member, now), record))
        over = [cell.status for cell, session in zip(cells, sessions) if is_over(session, now)]
        rows.append(StudentRow(student, cells, attendance_percentage(over)))
    return rows


def roster(session):
    """Every student in the course on the session's day, with their record in it (None when not
    seen yet), in the order of a class list (names.name_sort_key)."""
    records = {
        record.student_id: record
        for record in session.attendance.select_related("marked_by").prefetch_related("changes__changed_by")
    }
    students = sorted(session.members(), key=lambda student: name_sort_key(student.full_name))
    return [(student, records.get(student.pk)) for student in students]


@dataclass
class CourseSummary:
    """One course as a student sees it: their percentage and each session of their membership
    that has started, newest first, with its status."""

    course: object
    percentage: float | None
    sessions: list  # of {"session", "record", "status", "word"}


def course_summaries(student, now=None):
    now = now or timezone.now()
    summaries = []
    for membership in student.memberships.select_related("course").order_by("course__code"):
        course = membership.course
        records = {record.session_id: record for record in student.attendance.filter(session__course=course)}
        started = course.sessions.not_cancelled().with_taken().filter(starts_at__lte=now).order_by("-starts_at")
        entries = []
        for session in started:
            if membership.covers(session.local_day):
                record = records.get(session.pk)
                status = student_status(session, record, True, now)
                entries.append(
                    {"session": session, "record": record, "status": status, "word": vocabulary.status_word(status)}
                )
        over = [entry["status"] for entry in entries if is_over(entry["session"], now)]
        summaries.append(CourseSummary(course, attendance_percentage(over), entries))
    return summaries
