"""Receiving a class photo or camera snapshot: every upload route (page, API, camera client)
comes through create_capture, so a refused file never leaves a row or a file behind."""

from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from attendance_site.ratelimit import over_limit
from students.attendance import closed_sentence
from students.times import moment_stamp

from .models import Capture
from .uploads import ImageRejected, check_photo_upload

# taken_at is the sender's word and decides present or late, and the earliest sighting wins, so
# a time outside the session would stick. Students and cameras are in the room before the bell:
# a photo from this long before the start still counts (as present).
TAKEN_BEFORE_START = timedelta(hours=1)
# A camera's or phone's clock may run a little fast: a photo "taken" this far in the future is
# still the photo just taken.
TAKEN_AFTER_NOW = timedelta(minutes=5)


class TakenAtRefused(ValueError):
    """taken_at is outside the times a photo of the session can have; the message says which."""


class SessionCancelled(ValueError):
    """The session was cancelled: it takes no attendance until it is restored."""


class SessionClosed(ValueError):
    """The session was closed: it takes no photo until a teacher reopens it. (A photo queued
    before the close is still recognised: the worker does not come through here.)"""


def check_taken_at(session, taken_at, now):
    earliest, latest = session.starts_at - TAKEN_BEFORE_START, now + TAKEN_AFTER_NOW
    if not earliest <= taken_at <= latest:
        raise TakenAtRefused(
            _(
                "taken_at %(taken_at)s is outside this session: a photo of it must be taken between %(earliest)s "
                "(%(before)d minutes before the start) and %(latest)s (%(after)d minutes from now), %(zone)s time. "
                "Check the clock of the camera or computer that sent it."
            )
            % {
                "taken_at": moment_stamp(taken_at),
                "earliest": moment_stamp(earliest),
                "before": minutes(TAKEN_BEFORE_START),
                "latest": moment_stamp(latest),
                "after": minutes(TAKEN_AFTER_NOW),
                "zone": timezone.get_current_timezone_name(),
            }
        )


def minutes(delta):
    return delta // timedelta(minutes=1)


def upload_limit_refusal(uploader):
    """Count one photo sent for recognition by the uploader ("user:<id>", "device:<id>"): the
    refusal to give past UPLOAD_RATE_LIMIT a minute, else None."""
    if over_limit("upload", uploader, settings.UPLOAD_RATE_LIMIT, 60):
        return _("More than %(count)d photos a minute: wait a minute and send again.") % {
            "count": settings.UPLOAD_RATE_LIMIT
        }
    return None


def create_capture(session, uploaded_file, uploaded_by=None, source=Capture.PHOTO, taken_at=None, device=None):
    """Validate an uploaded image and its time, and queue it for recognition after the commit.

    Raises SessionCancelled, SessionClosed, ImageRejected or TakenAtRefused with a message for
    the person who sent it; nothing is stored then.
    """
    if session.is_cancelled:
        raise SessionCancelled(
            _("Session %(session)s was cancelled: restore it on the course page to take its attendance.")
            % {"session": session}
        )
    if session.closed_at is not None:
        reopen = _("Reopen it on the session page to add photos.")
        raise SessionClosed(f"{closed_sentence(session)} {reopen}")
    now = timezone.now()
    taken_at = taken_at or now
    check_taken_at(session, taken_at, now)
    photo = check_photo_upload(uploaded_file, uploaded_file.size)
    from .tasks import process_capture

    capture = Capture(
        session=session,
        source=source,
        uploaded_by=uploaded_by,
        device=device,
        taken_at=taken_at,
        width=photo.width,
        height=photo.height,
    )
    capture.image.save(f"capture.{photo.extension}", ContentFile(photo.content), save=False)
    try:
        with transaction.atomic():
            capture.save()
            process_capture.delay_on_commit(capture.pk)
    except BaseException:
        capture.image.storage.delete(capture.image.name)
        raise
    return capture


def retry_capture(capture):
    """Queue a capture that failed (or whose worker was lost) for recognition again.

    A capture that is done is left alone: redoing it would replace faces a teacher may have
    reassigned. A person's retry gives it CAPTURE_MAX_ATTEMPTS attempts again. Returns whether
    it was queued."""
    from .tasks import process_capture

    with transaction.atomic():
        queued = (
            Capture.objects.filter(pk=capture.pk)
            .exclude(status=Capture.DONE)
            .update(status=Capture.QUEUED, error="", finished_at=None, attempts=0)
        )
        if queued:
            process_capture.delay_on_commit(capture.pk)
    capture.refresh_from_db()
    return bool(queued)


__all__ = ["create_capture", "retry_capture", "ImageRejected", "SessionCancelled", "SessionClosed", "TakenAtRefused"]
