"""Adding enrolment photos: the one place every route (admin, import, camera, a labelled
unknown face) goes through, so the same checks and de-duplication apply to all; and the photos
that waited for consent, once it is recorded (students/consent.py)."""

import hashlib
import io

from django.core.files.base import ContentFile
from django.db import transaction
from django.dispatch import receiver
from django.utils.translation import gettext as _

from students.consent import consent_recorded

from .models import FacePhoto
from .uploads import check_photo_upload


def queue_embedding(photo):
    """Have the worker check and embed this photo once it is committed."""
    from .tasks import embed_enrolment_photo

    transaction.on_commit(lambda: embed_enrolment_photo.delay(photo.pk))


def add_enrolment_photo(student, content, *, source, added_by=None):
    """Store one enrolment photo (the bytes as uploaded) for a student. Returns (photo, created).

    source (FacePhoto.ADMIN, IMPORT, CAMERA or REVIEW) and added_by say where it came from and
    who added it: once embedded, enrolment_review decides by them whether it is accepted at once
    or waits for a school admin. The same bytes for the same student are stored once, so
    re-running an import adds nothing. Raises ImageRejected, with a message for a person, when
    the bytes are not a usable image.
    """
    digest = hashlib.sha256(content).hexdigest()
    existing = FacePhoto.objects.filter(student=student, content_sha256=digest).first()
    if existing:
        return existing, False
    checked = check_photo_upload(io.BytesIO(content), len(content))
    photo = FacePhoto(student=student, content_sha256=digest, source=source, added_by=added_by)
    photo.image.save(f"enrolment.{checked.extension}", ContentFile(checked.content), save=False)
    photo.save()
    queue_embedding(photo)
    return photo, True


@receiver(consent_recorded)
def embed_photos_waiting_for_consent(sender, students, **kwargs):
    """Once a student's consent is recorded, the photos that waited for it are checked and embedded."""
    for photo in FacePhoto.objects.filter(student__in=students, status=FacePhoto.PENDING):
        queue_embedding(photo)


def consent_warning(students, whom):
    """A line saying how many photos of these students wait for consent (whom: "MATH1", "the
    school"), or "" when none does: without it their faces come back unknown, so say so."""
    waiting = FacePhoto.objects.filter(student__in=students, student__consent_recorded_at__isnull=True).exclude(
        status=FacePhoto.REJECTED
    )
    photos = waiting.count()
    if not photos:
        return ""
    if students.with_consent().exists():
        people = waiting.values("student").distinct().count()
        who = _("%(count)d student(s) of %(whom)s cannot be recognised yet") % {"count": people, "whom": whom}
    else:
        who = _("no student of %(whom)s can be recognised yet") % {"whom": whom}
    return _("%(count)d photo(s) waiting for consent: %(who)s. Record it in the admin (or import with --consent).") % {
        "count": photos,
        "who": who,
    }
