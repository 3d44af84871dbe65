"""When and where a session may be: at most MAX_SESSION_HOURS long, and never in a room that
another session holds at the same time. A room's camera sends each snapshot to the session in
its room at that moment (recognition/classroom.py): a session spanning years, or one laid over
another course's lesson, would take that course's snapshots or stop its camera. Every route
that makes or moves a session comes through here: the forms and the API (ClassSession.clean,
the serializer), any save (ClassSession.save), a restore, and a weekly timetable's sessions."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .times import session_time

# The fields whose change needs the checks again.
SCHEDULE_FIELDS = {"starts_at", "ends_at", "room", "room_id", "cancelled_at"}


def max_length():
    return timedelta(hours=settings.MAX_SESSION_HOURS)


def hours(delta):
    return f"{delta / timedelta(hours=1):g}"


def length_problem(starts_at, ends_at):
    """Why a session from starts_at to ends_at is too long, or None."""
    if ends_at - starts_at > max_length():
        return _(
            "A session lasts at most %(most)s hours (MAX_SESSION_HOURS); this one lasts %(length)s. Make one "
            "session per lesson, or a weekly timetable for a term."
        ) % {"most": hours(max_length()), "length": hours(ends_at - starts_at)}
    return None


def clashing_sessions(room, starts_at, ends_at, exclude=None):
    """The sessions, not cancelled, held in the room at some moment between starts_at and ends_at."""
    clashing = room.sessions.not_cancelled().filter(starts_at__lt=ends_at, ends_at__gt=starts_at)
    clashing = clashing.select_related("course")
    return clashing.exclude(pk=exclude) if exclude else clashing


def clash_problem(room, starts_at, ends_at, exclude=None):
    """Why the room cannot be held from starts_at to ends_at, or None."""
    taken = list(clashing_sessions(room, starts_at, ends_at, exclude)[:3])
    if not taken:
        return None
    listed = "; ".join(f"{session.course.code}, {session_time(session)}" for session in taken)
    return _("%(room)s is taken then by another session (%(sessions)s). Choose another time or room.") % {
        "room": room,
        "sessions": listed,
    }


def check_schedule(session):
    """Raise ValidationError (by field) when the session is too long or its room is taken. A
    cancelled session holds no room and is never refused: cancelling must always work."""
    if session.cancelled_at is not None or session.starts_at is None or session.ends_at is None:
        return
    if session.ends_at <= session.starts_at:
        raise ValidationError({"ends_at": _("The session must end after it starts.")})
    problem = length_problem(session.starts_at, session.ends_at)
    if problem:
        raise ValidationError({"ends_at": problem})
    if session.room_id:
        problem = clash_problem(session.room, session.starts_at, session.ends_at, exclude=session.pk)
        if problem:
            raise ValidationError({"room": problem})
