"""Which session a classroom camera's snapshot belongs to, when the camera does not say: the
one on in the device's room (and course, when the device is scoped to one) at the time the
snapshot was taken."""

from django.utils.translation import gettext as _

from students.permissions import sessions_for_device
from students.times import session_time

from .captures import TAKEN_BEFORE_START


class NoSessionOn(Exception):
    """No session (or more than one) is on for the device; the message says what is next."""


def sessions_that_can_be_on(device):
    on = sessions_for_device(device).not_cancelled().filter(closed_at__isnull=True)
    return on.select_related("course")


def session_on_now(device, moment):
    """The session whose capture window holds moment: from TAKEN_BEFORE_START before its start
    (the window create_capture allows for taken_at) to its end. One in progress beats one about
    to start, so back-to-back lessons each get their own snapshots. Raises NoSessionOn."""
    candidates = list(
        sessions_that_can_be_on(device)
        .filter(starts_at__lte=moment + TAKEN_BEFORE_START, ends_at__gte=moment)
        .order_by("starts_at", "pk")
    )
    if not candidates:
        raise NoSessionOn(nothing_on_message(device, moment))
    in_progress = [session for session in candidates if session.starts_at <= moment < session.ends_at]
    about_to_start = [session for session in candidates if session.starts_at > moment]
    chosen = (in_progress or about_to_start or candidates)[0]
    instant = max(moment, chosen.starts_at)
    clashing = [session for session in candidates if session.starts_at <= instant < session.ends_at]
    if len(clashing) > 1:
        raise NoSessionOn(clash_message(device, clashing))
    return chosen


def scope_words(device):
    of_course = _(" of %(course)s") % {"course": device.course.code} if device.course_id else ""
    in_room = _(" in %(room)s") % {"room": device.room} if device.room_id else ""
    return of_course, in_room


def nothing_on_message(device, moment):
    of_course, in_room = scope_words(device)
    upcoming = sessions_that_can_be_on(device).filter(starts_at__gt=moment).order_by("starts_at", "pk").first()
    if upcoming is None:
        return _("No session%(of_course)s is on%(in_room)s now, and none is timetabled.") % {
            "of_course": of_course,
            "in_room": in_room,
        }
    course = "" if device.course_id else f"{upcoming.course.code} "
    room = _(" in %(room)s") % {"room": upcoming.room} if upcoming.room_id and not device.room_id else ""
    return _("No session%(of_course)s is on%(in_room)s now; the next is %(course)son %(when)s%(room)s.") % {
        "of_course": of_course,
        "in_room": in_room,
        "course": course,
        "when": session_time(upcoming, "next"),
        "room": room,
    }


def clash_message(device, sessions):
    of_course, in_room = scope_words(device)
    listed = ", ".join(
        _("%(course)s (session %(number)s)") % {"course": session.course.code, "number": session.pk}
        for session in sessions
    )
    return _(
        "%(count)d sessions%(of_course)s are on%(in_room)s at once: %(sessions)s. No snapshot goes to either, so "
        "that no course gets another's photos. An admin should move one of them to another room (or bind the "
        "device to a course); meanwhile send to one with /api/sessions/<id>/captures/."
    ) % {"count": len(sessions), "of_course": of_course, "in_room": in_room, "sessions": listed}
