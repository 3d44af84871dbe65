"""Attendance rules, in one place: who counts as present or late, and whose decision wins.

Every function here runs inside one transaction and writes the audit trail with the change.
"""
from django.db import transaction
from django.utils import timezone

from .models import AttendanceChange, AttendanceRecord
from .sheets import attendance_changed

RECOGNITION_REASON = "Recognised in a class photo"


def status_when_first_seen(session, seen_at):
    return AttendanceRecord.LATE if seen_at > session.late_mark else AttendanceRecord.PRESENT


def _log_change(record, old_status, changed_by, reason):
    if old_status != record.status:
        AttendanceChange.objects.create(
            record=record, changed_by=changed_by, old_status=old_status, new_status=record.status, reason=reason
        )


@transaction.atomic
def mark_seen(session, student, seen_at, source, distance):
    """A student was recognised at seen_at. The earliest sighting wins; a person's decision
    (a manual record) is never overwritten by the machine. Returns the record."""
    record, created = AttendanceRecord.objects.select_for_update().get_or_create(
        session=session,
        student=student,
        defaults={
            "status": status_when_first_seen(session, seen_at),
            "first_seen_at": seen_at,
            "source": source,
            "match_distance": distance,
        },
    )
    if created:
        _log_change(record, "", None, RECOGNITION_REASON)
        attendance_changed(session.course_id)
        return record
    if record.is_manual:
        if record.first_seen_at is None or seen_at < record.first_seen_at:
            # Keep the teacher's status but remember when the student was actually seen.
            record.first_seen_at = seen_at
            record.save(update_fields=["first_seen_at", "marked_at"])
            attendance_changed(session.course_id)
        return record
    if record.first_seen_at is not None and record.first_seen_at <= seen_at:
        return record
    old_status = record.status
    record.first_seen_at = seen_at
    record.status = status_when_first_seen(session, seen_at)
    record.source = source
    record.match_distance = distance
    record.save()
    _log_change(record, old_status, None, RECOGNITION_REASON)
    attendance_changed(session.course_id)
    return record


@transaction.atomic
def set_status(session, student, status, changed_by, reason=""):
    """A person decides a student's status. It becomes a manual record that recognition
    will not change again."""
    if status not in dict(AttendanceRecord.STATUS_CHOICES):
        raise ValueError(f"Unknown status {status!r}.")
    record, created = AttendanceRecord.objects.select_for_update().get_or_create(
        session=session,
        student=student,
        defaults={"status": status, "source": AttendanceRecord.MANUAL, "marked_by": changed_by},
    )
    old_status = "" if created else record.status
    if not created:
        record.status = status
        record.source = AttendanceRecord.MANUAL
        record.marked_by = changed_by
        record.save()
    _log_change(record, old_status, changed_by, reason)
    attendance_changed(session.course_id)
    return record


@transaction.atomic
def close_session(session, closed_by):
    """Mark every enrolled student who has no record absent, and close the session."""
    marked = session.attendance.values_list("student_id", flat=True)
    unmarked = session.course.students.filter(is_active=True).exclude(pk__in=marked)
    count = 0
    for student in unmarked:
        set_status(session, student, AttendanceRecord.ABSENT, closed_by, "Not seen before the session was closed")
        count += 1
    session.closed_at = timezone.now()
    session.save(update_fields=["closed_at"])
    return count
