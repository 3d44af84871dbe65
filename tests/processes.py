"""The processes and ports that tests and benchmarks start, each made one way: a free port on
the loopback, a Celery worker (in this process, or a `celery worker` process of its own, the
command `make worker` runs), and stopping a process whatever state it is in. bench/load.py uses
these too."""

import os
import socket
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# Workers are slow to start and stop on a busy machine: the models load before the first task.
WORKER_SHUTDOWN_SECONDS = 60


def free_port(host="127.0.0.1"):
    """A port nothing listens on now (the probe's socket is closed again)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def stop(process, timeout=30):
    """Ask the process to stop; kill it if it has not within `timeout` seconds."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def worker_in_this_process():
    """A Celery worker thread inside pytest, on the test database: tasks sent meanwhile are run
    by a real worker, as in production, without a process of its own."""
    from celery.contrib.testing.worker import start_worker

    from attendance_site.celery import app

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=WORKER_SHUTDOWN_SECONDS):
        yield


def worker_command(loglevel="INFO", hostname=None):
    """A one-process `celery worker`, as `make worker` starts it (solo pool: one capture at a
    time), without the chatter between workers that the tests and benchmarks do not use."""
    command = [sys.executable, "-m", "celery", "-A", "attendance_site", "worker", "--pool", "solo", "--concurrency"]
    command += ["1", "--loglevel", loglevel, "--without-mingle", "--without-gossip", "--without-heartbeat"]
    return command + (["--hostname", hostname] if hostname else [])


def start_worker_process(env, log, loglevel="INFO", hostname=None):
    """A `celery worker` process with this environment, writing to the open file `log`."""
    return subprocess.Popen(
        worker_command(loglevel, hostname), cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )


def database_url_of_test_db():
    """The URL of the database pytest-django created, for worker processes to open."""
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


def worker_on_test_database(log_path, **environment):
    """A `celery worker` process on the test database and media folder (worker_process);
    `environment` overrides or adds variables (CELERY_BROKER_URL, for another broker)."""
    from django.conf import settings

    env = dict(os.environ, DATABASE_URL=database_url_of_test_db(), MEDIA_ROOT=str(settings.MEDIA_ROOT))
    return worker_process(dict(env, FACE_TORCH_THREADS="1", **environment), log_path)


def worker_is_ready(log_path):
    return b" ready." in log_path.read_bytes()


@contextmanager
def worker_process(env, log_path, **options):
    """A `celery worker` process, stopped (or killed, if it hangs) on the way out whatever happened."""
    with open(log_path, "wb") as log:
        process = start_worker_process(env, log, **options)
    try:
        yield process
    finally:
        stop(process)
