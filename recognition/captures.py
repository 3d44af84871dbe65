"""Receiving a class photo or camera snapshot: every upload route (page, API, camera client)
comes through create_capture, so a refused file never leaves a row or a file behind."""
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from .models import Capture
from .uploads import ImageRejected, check_photo_upload


def create_capture(session, uploaded_file, uploaded_by=None, source=Capture.PHOTO, taken_at=None, device=None):
    """Validate an uploaded image and queue it for recognition after the commit.

    Raises ImageRejected with a message for the person who sent it; nothing is stored then.
    """
    photo = check_photo_upload(uploaded_file, uploaded_file.size)
    from .tasks import process_capture

    capture = Capture(
        session=session, source=source, uploaded_by=uploaded_by, device=device, taken_at=taken_at or timezone.now(),
        width=photo.width, height=photo.height,
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
    reassigned. Returns whether it was queued."""
    from .tasks import process_capture

    with transaction.atomic():
        queued = (
            Capture.objects.filter(pk=capture.pk)
            .exclude(status=Capture.DONE)
            .update(status=Capture.QUEUED, error="", finished_at=None)
        )
        if queued:
            process_capture.delay_on_commit(capture.pk)
    capture.refresh_from_db()
    return bool(queued)


__all__ = ["create_capture", "retry_capture", "ImageRejected"]
