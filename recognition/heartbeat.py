"""Workers say they are alive, and the admin says whether recognition is running.

A thread of each worker's main process writes the worker's WorkerHeartbeat row every
WORKER_HEARTBEAT_SECONDS, from the moment the worker is ready until it shuts down. Through the
database, so it works with either broker (the filesystem one has no remote control or events),
and a thread of its own rather than a task or the consumer's timer: a solo worker busy with a
photo for a minute keeps beating. A worker that is killed, or loses the database, stops beating:
the admin shows it stopped once its last beat is WORKER_STOPPED_AFTER_BEATS beats old."""

import logging
import threading
from datetime import timedelta

from celery.signals import worker_ready, worker_shutdown
from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import Min
from django.utils import timezone

from .models import Capture, WorkerHeartbeat

log = logging.getLogger(__name__)

# Three missed beats: one late beat on a busy machine is not a stop.
WORKER_STOPPED_AFTER_BEATS = 3

_stop_beating = threading.Event()


def record_beat(hostname, started_at):
    WorkerHeartbeat.objects.update_or_create(
        hostname=hostname, defaults={"started_at": started_at, "last_beat_at": timezone.now(), "stopped_at": None}
    )


def beat_until_stopped(hostname, started_at, stop):
    while True:
        try:
            close_old_connections()
            record_beat(hostname, started_at)
        except Exception:
            # The database is away: the missing beats say so in the admin; try again next time.
            log.warning("Worker heartbeat of %s not recorded", hostname, exc_info=True)
            connection.close()
        if stop.wait(settings.WORKER_HEARTBEAT_SECONDS):
            connection.close()
            return


@worker_ready.connect
def start_beating(sender, **kwargs):
    _stop_beating.clear()
    thread = threading.Thread(
        target=beat_until_stopped,
        args=(sender.hostname, timezone.now(), _stop_beating),
        name="worker-heartbeat",
        daemon=True,
    )
    thread.start()


@worker_shutdown.connect
def stop_beating(sender, **kwargs):
    _stop_beating.set()
    try:
        WorkerHeartbeat.objects.filter(hostname=sender.hostname).update(stopped_at=timezone.now())
    except Exception:
        log.warning("Could not record that worker %s stopped", sender.hostname, exc_info=True)


def worker_is_running(heartbeat, now):
    stale = timedelta(seconds=settings.WORKER_HEARTBEAT_SECONDS * WORKER_STOPPED_AFTER_BEATS)
    return heartbeat.stopped_at is None and now - heartbeat.last_beat_at <= stale


def queue_summary(now):
    """How many captures wait for a worker and how many are being recognised, and how long the
    oldest waiting one has waited (None when none waits): the database is the record of what
    still needs doing, whatever the broker holds."""
    waiting = Capture.objects.filter(status=Capture.QUEUED)
    oldest = waiting.aggregate(oldest=Min("created_at"))["oldest"]
    return {
        "queued": waiting.count(),
        "processing": Capture.objects.filter(status=Capture.PROCESSING).count(),
        "oldest_queued_age": now - oldest if oldest else None,
    }
