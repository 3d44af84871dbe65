"""Bringing stored face data under the sealing key: `manage.py seal_face_data` seals what was
stored plain (before FACE_DATA_KEY was set), `manage.py rotate_face_key` also what an old key
sealed. Both go row by row and file by file, skip what is already done, and can be stopped and
run again. Each run is recorded (FaceKeyRotation); the last finished rotation is the date the
records-of-processing summary shows."""

import posixpath

from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from .models import (
    Capture,
    DetectedFace,
    FaceEmbedding,
    FaceKeyRotation,
    FacePhoto,
    SessionPerson,
    delete_file_on_commit,
)
from .sealed import face_data_keys, needs_sealing, opened, resealed, sealed_storage
from .sealing import is_sealed

DESCRIPTORS = [(FaceEmbedding, "vector"), (DetectedFace, "embedding"), (SessionPerson, "descriptor_sum")]
IMAGES = [(FacePhoto, "image"), (Capture, "image"), (DetectedFace, "crop")]
BATCH = 200


def last_key_rotation():
    """When the face data key was last rotated to the end, or None."""
    finished = FaceKeyRotation.objects.filter(kind=FaceKeyRotation.ROTATE, finished_at__isnull=False)
    return finished.values_list("finished_at", flat=True).first()


def bring_under_key(kind, progress):
    """Seal again everything the kind of run asks for (SEAL: plain data; ROTATE: anything not
    under the sealing key), calling progress(what, done, total) as it goes. Returns the run."""
    keys = face_data_keys()
    if not keys:
        raise ImproperlyConfigured("FACE_DATA_KEY is not set: there is no key to seal under.")
    wanted = (lambda data: not is_sealed(data)) if kind == FaceKeyRotation.SEAL else needs_sealing
    run = FaceKeyRotation.objects.create(kind=kind, key_id=keys.sealing.id.hex())
    for model, field in DESCRIPTORS:
        run.resealed += reseal_descriptors(model, field, wanted, progress)
    for model, field in IMAGES:
        run.resealed += reseal_images(model, field, wanted, progress)
    run.finished_at = timezone.now()
    run.save()
    return run


def described(model, field):
    return f"{model._meta.verbose_name_plural}' {field}"


def reseal_descriptors(model, field, wanted, progress):
    ids = list(model.objects.exclude(**{field: b""}).order_by("pk").values_list("pk", flat=True))
    resealed_count = 0
    for start in range(0, len(ids), BATCH):
        with transaction.atomic():
            rows = model.objects.select_for_update().filter(pk__in=ids[start : start + BATCH])
            for pk, data in rows.values_list("pk", field):  # as stored: values_list does not open
                if data and wanted(bytes(data)):
                    model.objects.filter(pk=pk).update(**{field: resealed(bytes(data))})
                    resealed_count += 1
        progress(described(model, field), min(start + BATCH, len(ids)), len(ids))
    if not ids:
        progress(described(model, field), 0, 0)
    return resealed_count


def reseal_images(model, field, wanted, progress):
    """A file is sealed again under a new name, the row pointed at it, and the old file deleted
    once that commits: a run stopped at any point leaves every row with a file that reads."""
    ids = list(model.objects.exclude(**{field: ""}).order_by("pk").values_list("pk", flat=True))
    resealed_count = 0
    for done, pk in enumerate(ids, start=1):
        instance = model.objects.filter(pk=pk).first()
        old_name = getattr(instance, field).name if instance else ""
        try:
            data = sealed_storage.stored_bytes(old_name) if old_name else b""
        except FileNotFoundError:
            data = b""  # deleted meanwhile, or its file already gone: nothing to seal
        if data and wanted(data):
            upload_name = getattr(instance, field).field.generate_filename(instance, posixpath.basename(old_name))
            new_name = sealed_storage.save(upload_name, ContentFile(opened(data)))
            with transaction.atomic():
                moved = model.objects.filter(pk=pk, **{field: old_name}).update(**{field: new_name})
                gone = old_name if moved else new_name  # a row changed meanwhile keeps its own file
                delete_file_on_commit(sealed_storage, gone)
            resealed_count += bool(moved)
        if done % BATCH == 0 or done == len(ids):
            progress(described(model, field), done, len(ids))
    if not ids:
        progress(described(model, field), 0, 0)
    return resealed_count
