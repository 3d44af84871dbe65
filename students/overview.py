"""Attendance over a course: the students x sessions grid and each student's percentage.

How the percentage is computed (shown to teachers and students on the pages too):
    (present + late) / (sessions held - sessions excused)
A session counts as held once it has ended or been closed, unless it was cancelled; a held
session with no record for a student counts as absent. Sessions still running or to come are not
counted, so a student is never "below the threshold" because today's roll is not finished yet.
None when nothing counts.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy

from .models import AttendanceRecord
from .names import name_sort_key

ATTENDED = (AttendanceRecord.PRESENT, AttendanceRecord.LATE)
PERCENTAGE_RULE = gettext_lazy(
    "Attendance = (present + late) ÷ (sessions held − excused). A session counts once it has ended "
    "or been closed; a cancelled session never counts; no record in a held session counts as absent."
)


def held_sessions(course, now=None):
    now = now or timezone.now()
    return (
        course.sessions.not_cancelled().filter(Q(closed_at__isnull=False) | Q(ends_at__lte=now)).order_by("starts_at")
    )


def upcoming_sessions(course, now=None):
    """Sessions on now or to come, cancelled ones included (the course page strikes them through)."""
    now = now or timezone.now()
    return course.sessions.filter(closed_at__isnull=True, ends_at__gt=now).select_related("room").order_by("starts_at")


def attended_and_counted(statuses):
    """statuses: one per held session, None where the student has no record. Returns the
    sessions attended and the sessions that count (held, not excused)."""
    excused = sum(1 for status in statuses if status == AttendanceRecord.EXCUSED)
    return sum(1 for status in statuses if status in ATTENDED), len(statuses) - excused


def attendance_percentage(statuses):
    attended, counted = attended_and_counted(statuses)
    if counted == 0:
        return None
    return round(100 * attended / counted, 1)


def is_below_threshold(percentage):
    return percentage is not None and percentage < settings.ATTENDANCE_THRESHOLD_PERCENT


@dataclass
class StudentRow:
    student: object
    records: list = field(default_factory=list)  # one per session, None where there is no record
    percentage: float | None = None

    @property
    def below_threshold(self):
        return is_below_threshold(self.percentage)

    @property
    def statuses(self):
        return [record.status if record else None for record in self.records]


def attendance_rows(sessions, students):
    """One StudentRow per student with their record in each of the given (held) sessions."""
    sessions = list(sessions)
    records = AttendanceRecord.objects.filter(session__in=sessions, student__in=students)
    by_key = {(record.student_id, record.session_id): record for record in records}
    rows = []
    for student in students:
        row = StudentRow(student, [by_key.get((student.pk, session.pk)) for session in sessions])
        row.percentage = attendance_percentage(row.statuses)
        rows.append(row)
    return rows


def roster(session):
    """Every enrolled student with their record in the session (None when not seen yet), in the
    order of a class list (names.name_sort_key)."""
    records = {
        record.student_id: record
        for record in session.attendance.select_related("marked_by").prefetch_related("changes__changed_by")
    }
    students = sorted(session.course.students.active(), key=lambda student: name_sort_key(student.full_name))
    return [(student, records.get(student.pk)) for student in students]


@dataclass
class CourseSummary:
    """One course as a student sees it: their percentage and each session that has started."""

    course: object
    percentage: float | None
    sessions: list  # of {"session": ClassSession, "record": AttendanceRecord or None}, newest first


def course_summaries(student, now=None):
    now = now or timezone.now()
    summaries = []
    for course in student.courses.all():
        records = {record.session_id: record for record in student.attendance.filter(session__course=course)}
        started = course.sessions.not_cancelled().filter(starts_at__lte=now).order_by("-starts_at")
        summaries.append(
            CourseSummary(
                course,
                attendance_rows(held_sessions(course, now), [student])[0].percentage,
                [{"session": session, "record": records.get(session.pk)} for session in started],
            )
        )
    return summaries
