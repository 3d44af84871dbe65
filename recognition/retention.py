"""How long face images are kept: class photos and their crops for CAPTURE_RETENTION_DAYS, and
files that no row points to (left by a worker killed while writing) not at all."""

from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from .models import Capture, DetectedFace, FacePhoto

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
