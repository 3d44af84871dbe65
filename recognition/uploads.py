"""The check every uploaded photo passes, whichever route it came by: the session page, the API
and classroom cameras (create_capture), and enrolment photos from the admin, import_students,
the enrol-by-camera page and a face a teacher assigned (add_enrolment_photo)."""

from django.conf import settings
from django.utils.translation import gettext

from .engine.images import CheckedPhoto, ImageRejected, check_upload


def check_photo_upload(fileobj, nbytes) -> CheckedPhoto:
    """Raise ImageRejected, with advice for the sender in their language, unless this is a photo
    we can store and read back; otherwise return the bytes to store, their format's extension
    and upright size."""
    try:
        return check_upload(fileobj, nbytes, settings.UPLOAD_MAX_BYTES, settings.MAX_PHOTO_PIXELS)
    except ImageRejected as rejection:
        raise ImageRejected(gettext(rejection.template), **rejection.params) from rejection


__all__ = ["CheckedPhoto", "ImageRejected", "check_photo_upload"]
