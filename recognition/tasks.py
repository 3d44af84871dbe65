"""Celery tasks: thin wrappers over recognition.processing.

Every task is acknowledged late (settings), so a worker that dies mid-task leaves the message
to be delivered again, and every task gives the same result when run twice.
"""

import logging
import os
from datetime import timedelta

from celery import shared_task
from celery.signals import worker_init, worker_process_init
from django.conf import settings
from django.utils import timezone

from . import (
    heartbeat,  # noqa: F401  connects the workers' heartbeat to their start and shutdown
    retention,
)
from .engine.images import ImageRejected
from .models import Capture, FacePhoto

log = logging.getLogger(__name__)


def pipeline():
    """recognition.processing, imported at first use: it loads torch, which a web process
    that only sends these tasks must not pay for (5-8 s and hundreds of MB per process)."""
    from . import processing

    return processing


@shared_task(acks_late=True, reject_on_worker_lost=True)
def process_capture(capture_id):
    processing = pipeline()
    try:
        processing.process_capture(capture_id)
    except Capture.DoesNotExist:
        log.info("Capture %s was deleted before it was processed.", capture_id)
    except ImageRejected as error:
        processing.record_failure(capture_id, str(error))
    except Exception as error:
        log.exception("Capture %s failed", capture_id)
        processing.record_failure(
            capture_id, f"Recognition failed: {first_line(error)}. Retry it from the session page."
        )


def first_line(error):
    # What a teacher can read; the whole error, with PostgreSQL's CONTEXT and HINT lines, is logged.
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


@shared_task(acks_late=True, reject_on_worker_lost=True)
def embed_enrolment_photo(photo_id):
    processing = pipeline()
    engine = processing.face_engine()
    photo = processing.photos_missing_embeddings(
        FacePhoto.objects.filter(pk=photo_id), engine.embedder.name, engine.calibration.gallery_sizes
    ).first()
    if photo is None:
        return  # deleted, refused, or already embedded (by a capture that needed it, or an earlier delivery)
    try:
        processing.embed_photo(photo, engine)
    except ImageRejected as error:
        FacePhoto.objects.filter(pk=photo_id).update(status=FacePhoto.REJECTED, rejection_reason=str(error))


@shared_task(acks_late=True, reject_on_worker_lost=True)
def embed_missing_enrolment_photos():
    """Bring the whole school's index up to date: after a model change, or photos whose
    messages were lost. Returns how many photos it embedded."""
    from students.models import Student

    processing = pipeline()
    return processing.embed_missing_photos(Student.objects.with_consent(), processing.face_engine())


@worker_process_init.connect
def lower_cpu_priority(**kwargs):
    """Run recognition at niceness WORKER_NICE: a web server on the same cores then answers an
    upload at once instead of sharing the CPU with the photos already queued. Linux keeps a
    niceness per thread, so every thread of the process is lowered (threads started later inherit
    it); a process can raise its niceness but never lower it again."""
    target = settings.WORKER_NICE
    try:
        threads = [int(tid) for tid in os.listdir("/proc/self/task")]
    except OSError:
        threads = [0]  # not Linux: the process
    for thread in threads:
        try:
            if os.getpriority(os.PRIO_PROCESS, thread) < target:
                os.setpriority(os.PRIO_PROCESS, thread, target)
        except OSError:  # a thread that has just ended
            pass


@worker_process_init.connect
def load_face_engine(**kwargs):
    """Load the models as the worker process starts: the log then says at start-up which
    embedder and threshold this worker uses, and the first photo does not wait for them."""
    pipeline().face_engine()


@worker_init.connect
def requeue_waiting_captures(sender=None, **kwargs):
    """Send again every capture that is still waiting when a worker starts, after a task that
    embeds every enrolment photo still without a vector for the active model.

    Redis runs without persistence here, so a restart loses queued messages; the database is
    the record of what still needs doing. A capture whose message did survive is then
    processed twice, which changes nothing.

    A capture still processing after the visibility timeout lost its worker. The filesystem
    broker has no such timeout and nothing to give back: it deletes a message as it delivers
    it, and the unacknowledged copy dies with the worker. There every capture still
    processing when a worker starts is sent again."""
    stale = timezone.now() - timedelta(seconds=settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 0))
    waiting = Capture.objects.filter(status=Capture.QUEUED) | Capture.objects.filter(
        status=Capture.PROCESSING, started_at__lt=stale
    )
    # Photos first: the captures then find their students' vectors ready.
    embed_missing_enrolment_photos.delay()
    for capture_id in waiting.values_list("pk", flat=True):
        process_capture.delay(capture_id)


@shared_task
def delete_expired_captures():
    """Retention: class photos and their face crops go after CAPTURE_RETENTION_DAYS, and files
    no row points to after an hour; attendance records stay."""
    result = {"captures": retention.delete_expired_captures(), "orphaned_files": retention.delete_orphaned_files()}
    retention.record_sweep("delete_expired_captures", result)
    return result


@shared_task
def forget_unclaimed_faces():
    """Retention: the descriptors and crops of faces that mark nobody, once their session is
    closed or UNKNOWN_FACE_HOURS after it ended. Returns how many faces were forgotten."""
    forgotten = retention.forget_unclaimed_faces(retention.faces_done_with())
    retention.record_sweep("forget_unclaimed_faces", {"faces": forgotten})
    return forgotten
