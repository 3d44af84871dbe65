"""Attendance rules, in one place: who counts as present or late, and whose decision wins.

Every function here runs inside one transaction and writes the audit trail with the change.
"""

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from .models import AttendanceChange, AttendanceRecord, ClassSession, SessionEvent
from .names import person_name
from .tasks import attendance_changed

# Kept in English in the audit trail, translated where a page shows them ({% translate change.reason %}).
RECOGNITION_REASON = gettext_noop("Recognised in a class photo")
SEEN_BEFORE_CLOSE_REASON = gettext_noop("Recognised in a class photo taken before the session was closed")
CLOSE_REASON = gettext_noop("Not seen before the session was closed")
NOT_SEEN_REASON = gettext_noop("Not seen yet when everyone not seen was marked absent")


def status_when_first_seen(session, seen_at):
    return AttendanceRecord.LATE if seen_at > session.late_mark else AttendanceRecord.PRESENT


def _log_change(record, old_status, changed_by, reason):
    if old_status != record.status:
        AttendanceChange.objects.create(
            record=record, changed_by=changed_by, old_status=old_status, new_status=record.status, reason=reason
        )


def taken_before_close(session, seen_at):
    """Whether a sighting predates the session's close. Read from the database: the worker's
    session was loaded when the capture started, perhaps before the close."""
    closed_at = ClassSession.objects.values_list("closed_at", flat=True).get(pk=session.pk)
    return closed_at is None or seen_at < closed_at


def keeps_its_status(record, session, seen_at):
    """A person's decision is never overwritten by the machine. The absence a close (or "mark
    everyone not seen absent") wrote is the system's decision: a photo taken before the close,
    still being recognised then, shows the student was there, so it wins; a photo taken after
    the close does not."""
    if record.is_manual:
        return True
    return record.is_absent_not_seen and not taken_before_close(session, seen_at)


@transaction.atomic
def mark_seen(session, student, seen_at, source, distance):
    """A student was recognised at seen_at. The earliest sighting wins, unless the record
    keeps its status (keeps_its_status). Returns the record."""
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
    if keeps_its_status(record, session, seen_at):
        if record.first_seen_at is None or seen_at < record.first_seen_at:
            # Keep the decided status but remember when the student was actually seen.
            record.first_seen_at = seen_at
            record.save(update_fields=["first_seen_at", "marked_at"])
            attendance_changed(session.course_id)
        return record
    if record.first_seen_at is not None and record.first_seen_at <= seen_at:
        return record
    old_status = record.status
    reason = SEEN_BEFORE_CLOSE_REASON if record.is_absent_at_close else RECOGNITION_REASON
    record.first_seen_at = seen_at
    record.status = status_when_first_seen(session, seen_at)
    record.source = source
    record.match_distance = distance
    record.marked_by = None
    record.save()
    _log_change(record, old_status, None, reason)
    attendance_changed(session.course_id)
    return record


@transaction.atomic
def set_status(session, student, status, changed_by, reason="", source=AttendanceRecord.MANUAL):
    """A person decides a student's status. It becomes a manual record that recognition
    will not change again; source FACE when they decided it by naming a face (see the model)."""
    if status not in dict(AttendanceRecord.STATUS_CHOICES):
        raise ValueError(f"Unknown status {status!r}.")
    record, created = AttendanceRecord.objects.select_for_update().get_or_create(
        session=session,
        student=student,
        defaults={"status": status, "source": source, "marked_by": changed_by},
    )
    old_status = "" if created else record.status
    if not created:
        record.status = status
        record.source = source
        record.marked_by = changed_by
        record.save()
    _log_change(record, old_status, changed_by, reason)
    attendance_changed(session.course_id)
    return record


def mark_absent_if_unmarked(session, student, marked_by, source, reason):
    """Record a student without a record as absent, the system's decision (source CLOSE or
    NOT_SEEN). A record written meanwhile (a capture finishing at that moment) is left as it is.
    Returns whether one was made."""
    record, created = AttendanceRecord.objects.get_or_create(
        session=session,
        student=student,
        defaults={"status": AttendanceRecord.ABSENT, "source": source, "marked_by": marked_by},
    )
    if created:
        _log_change(record, "", marked_by, reason)
    return created


def mark_unmarked_absent(session, marked_by, source, reason):
    """Every student in the course that day with no record in the session, marked absent. Returns how many."""
    marked = session.attendance.values_list("student_id", flat=True)
    unmarked = session.members().exclude(pk__in=marked)
    count = sum(mark_absent_if_unmarked(session, student, marked_by, source, reason) for student in unmarked)
    if count:
        attendance_changed(session.course_id)
    return count


def lock_session(session):
    # No key update: a capture committing its records meanwhile checks their foreign key with a
    # key-share lock on this row, which a plain FOR UPDATE would block into a deadlock.
    return ClassSession.objects.select_for_update(no_key=True).get(pk=session.pk)


# Sent with session=the ClassSession just closed, inside the close: recognition forgets the
# descriptors and crops of the faces that mark nobody (recognition/retention.py).
session_closed = Signal()


@transaction.atomic
def close_session(session, closed_by):
    """Mark every enrolled student who has no record absent, and close the session. These
    absences are the system's decision (see keeps_its_status), audited as made by whoever closed.
    The first close's time stands: it is the cut-off for the photos still being recognised."""
    locked = lock_session(session)
    if locked.closed_at is None:
        locked.closed_at = timezone.now()
        locked.save(update_fields=["closed_at"])
        SessionEvent.objects.create(session=locked, action=SessionEvent.CLOSED, by=closed_by, at=locked.closed_at)
    session.closed_at = locked.closed_at
    marked = mark_unmarked_absent(session, closed_by, AttendanceRecord.CLOSE, CLOSE_REASON)
    session_closed.send(sender=close_session, session=locked)
    return marked


@transaction.atomic
def mark_not_seen_absent(session, marked_by):
    """Mark every enrolled student not seen yet absent, leaving the session open. The same
    system decision as the close's: a photo taken before the close still marks them present or
    late, and a teacher's own status is never touched. Returns how many were marked."""
    locked = lock_session(session)
    count = mark_unmarked_absent(locked, marked_by, AttendanceRecord.NOT_SEEN, NOT_SEEN_REASON)
    SessionEvent.objects.create(
        session=locked,
        action=SessionEvent.MARKED_NOT_SEEN_ABSENT,
        by=marked_by,
        detail=f"{count} marked absent",
    )
    return count


@transaction.atomic
def reopen_session(session, reopened_by):
    """Open a closed session again: it takes photos again, and the absences the close itself
    wrote are removed, since the cut-off they stood for is gone (the next close writes them
    again for whoever is still not seen). Statuses a teacher set, recognitions, and the absences
    of "mark everyone not seen absent" stay. Returns the names whose absence was removed, or
    None when the session was not closed."""
    locked = lock_session(session)
    if locked.closed_at is None:
        return None
    # Locked first: a capture converting one of them meanwhile waits, then finds it gone and
    # writes its own record.
    closes = list(
        session.attendance.filter(source=AttendanceRecord.CLOSE)
        .select_related("student")
        .select_for_update(of=("self",))
    )
    names = [record.student.full_name for record in closes]
    AttendanceRecord.objects.filter(pk__in=[record.pk for record in closes]).delete()
    locked.closed_at = None
    locked.save(update_fields=["closed_at"])
    session.closed_at = None
    removed = f"the close's absence of {', '.join(names)} removed" if names else "no absence of the close to remove"
    SessionEvent.objects.create(session=locked, action=SessionEvent.REOPENED, by=reopened_by, detail=removed)
    if names:
        attendance_changed(session.course_id)
    return names


def closed_sentence(session):
    """When and by whom a closed session was closed, as the page and the refused upload say it."""
    closing = session.events.filter(action=SessionEvent.CLOSED, at=session.closed_at).select_related("by").last()
    at = date_format(timezone.localtime(session.closed_at), "H:i")
    if closing and closing.by:
        return _("This session was closed at %(time)s by %(name)s.") % {"time": at, "name": person_name(closing.by)}
    return _("This session was closed at %(time)s.") % {"time": at}


def absent_by_the_close(session, record):
    """The record as the close would have written it: absent, not seen."""
    closer = session.attendance.filter(source=AttendanceRecord.CLOSE).values_list("marked_by", flat=True).first()
    record.status, record.source, record.first_seen_at, record.match_distance = (
        AttendanceRecord.ABSENT,
        AttendanceRecord.CLOSE,
        None,
        None,
    )
    record.marked_by_id = closer


def withdraw_sighting(session, student, sightings, changed_by, reason):
    """A person withdrew a sighting a student was marked on (the face is not theirs, the photo
    was removed). sightings: (seen_at, source, distance) of the student's faces still standing
    in the session. The machine's record is set again from the earliest of them (in a closed
    session, of those taken before the close); a person's naming of a face (source FACE) stays
    while any stands. With none, the record goes back to what it would be without them: absent
    by the close in a closed session, no record in an open one (its audit trail goes with it,
    so the caller keeps its own). A status set in the roster and a close's absence are never
    touched. Returns the record, or None when there is none now."""
    record = AttendanceRecord.objects.select_for_update().filter(session=session, student=student).first()
    if record is None or record.source == AttendanceRecord.MANUAL or record.is_absent_at_close:
        return record
    closed_at = ClassSession.objects.values_list("closed_at", flat=True).get(pk=session.pk)
    standing = sorted(s for s in sightings if closed_at is None or s[0] < closed_at)
    if standing and record.source == AttendanceRecord.FACE:
        return record
    old_status = record.status
    if standing:
        record.first_seen_at, record.source, record.match_distance = standing[0]
        record.status = status_when_first_seen(session, record.first_seen_at)
    elif closed_at is None:
        record.delete()
        attendance_changed(session.course_id)
        return None
    else:
        absent_by_the_close(session, record)
    record.save()
    _log_change(record, old_status, changed_by, reason)
    attendance_changed(session.course_id)
    return record


@transaction.atomic
def clear_status(session, student, changed_by, reason=""):
    """A person takes a student back to "not seen yet", whatever set their status: in an open
    session their record goes (a photo still to come marks them again), in a closed one they are
    absent as the close leaves whoever it did not see. The session's trail keeps what the record
    was. Returns the record, or None when there is none now."""
    locked = lock_session(session)
    record = AttendanceRecord.objects.select_for_update().filter(session=session, student=student).first()
    if record is None or (locked.closed_at and record.is_absent_at_close):
        return record
    old_status = record.status
    detail = f"{student.full_name}: {old_status} → not seen yet" + (f" (“{reason}”)" if reason else "")
    SessionEvent.objects.create(session=locked, action=SessionEvent.CLEARED, by=changed_by, detail=detail[:300])
    if locked.closed_at is None:
        record.delete()
        attendance_changed(session.course_id)
        return None
    absent_by_the_close(locked, record)
    if record.marked_by_id is None:
        record.marked_by = changed_by
    record.save()
    _log_change(record, old_status, changed_by, reason or CLOSE_REASON)
    attendance_changed(session.course_id)
    return record
