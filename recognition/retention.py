"""How long face data is kept: class photos and their crops for CAPTURE_RETENTION_DAYS; the
descriptor and crop of a face that marks nobody only while its session needs them (until it
is closed, at the latest UNKNOWN_FACE_HOURS after it ends); files that no row points to (left
by a worker killed while writing) not at all."""

from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone

from students.attendance import session_closed

from .models import Capture, DetectedFace, FacePhoto, RetentionSweep, SessionPerson, delete_file_on_commit

# A file this young may belong to a row whose transaction has not committed yet.
ORPHAN_GRACE = timedelta(hours=1)


def delete_expired_captures():
    cutoff = timezone.now() - timedelta(days=settings.CAPTURE_RETENTION_DAYS)
    deleted = 0
    for capture in Capture.objects.filter(created_at__lt=cutoff):
        capture.delete()  # one by one, so every file is removed with its row
        deleted += 1
    return deleted


def delete_orphaned_files(storage=default_storage):
    referenced = {
        "enrolment": set(FacePhoto.objects.values_list("image", flat=True)),
        "captures": set(Capture.objects.values_list("image", flat=True)),
        "crops": set(DetectedFace.objects.exclude(crop="").values_list("crop", flat=True)),
    }
    cutoff = timezone.now() - ORPHAN_GRACE
    deleted = 0
    for folder, names in referenced.items():
        for filename in stored_files(storage, folder):
            name = f"{folder}/{filename}"
            if name not in names and storage.get_modified_time(name) < cutoff:
                storage.delete(name)
                deleted += 1
    return deleted


def stored_files(storage, folder):
    """The file names in one folder of the storage. An object store has no folders to test for
    (exists("crops") is false there while crops/ holds files): list, and take a missing folder
    on disk as an empty one."""
    try:
        return storage.listdir(folder)[1]
    except FileNotFoundError:
        return []


def faces_done_with(now=None):
    """Faces that mark nobody (unknown, only suggested, dismissed) and still keep a descriptor
    or a crop, in sessions that no longer need them: closed, or ended UNKNOWN_FACE_HOURS ago."""
    ended_before = (now or timezone.now()) - timedelta(hours=settings.UNKNOWN_FACE_HOURS)
    done = Q(capture__session__closed_at__isnull=False) | Q(capture__session__ends_at__lt=ended_before)
    return DetectedFace.objects.filter(done, student__isnull=True).exclude(embedding=b"", crop="")


@transaction.atomic
def forget_unclaimed_faces(faces):
    """Delete the descriptor and the crop of each of these faces (the crop's file once this
    commits); the row stays, a box on its class photo that a teacher can still decide about.
    Their people lose their running sums too, which hold those descriptors: a person without
    one takes no new face. Returns how many faces were forgotten."""
    rows = list(faces.values_list("pk", "crop", "person_id"))
    storage = DetectedFace._meta.get_field("crop").storage
    for _pk, crop, _person in rows:
        if crop:
            delete_file_on_commit(storage, crop)
    DetectedFace.objects.filter(pk__in=[pk for pk, _, _ in rows]).update(embedding=b"", crop="")
    people = {person for _, _, person in rows if person is not None}
    SessionPerson.objects.filter(pk__in=people).update(descriptor_sum=b"", radius=0.0)
    return len(rows)


@receiver(session_closed)
def forget_unclaimed_faces_of_closed_session(sender, session, **kwargs):
    # A photo still being recognised at the close saves its faces later: the sweep takes those.
    forget_unclaimed_faces(faces_done_with().filter(capture__session=session))


def record_sweep(name, result):
    """Remember when a retention sweep last ran and what it did (the admin's records of
    processing show it)."""
    RetentionSweep.objects.update_or_create(name=name, defaults={"ran_at": timezone.now(), "result": result})
