"""GET /healthz as a load balancer sees it: a real gunicorn in production settings, over plain
HTTP to its address, with the database, the broker or the storage really down (a closed port,
a stopped S3 server, a server that never answers). And the admin's Workers page as an admin
sees it while real worker processes beat, are killed and shut down."""

import os
import signal
import socket
import sys
import threading
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
import requests
from django.conf import settings
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from attendance_site.celery import app as celery_app
from recognition.models import Capture, WorkerHeartbeat
from tests.factories import make_course, make_session, make_user
from tests.helpers import photo_jpeg, wait_for
from tests.processes import database_url_of_test_db, free_port, worker_is_ready
from tests.processes import worker_on_test_database as worker_process
from tests.s3_server import local_s3_server, s3_server  # noqa: F401  fixture
from tests.site_server import gunicorn_site, production_environment

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

ALL_OK = {"database": "ok", "broker": "ok", "storage": "ok"}
# What the answer must never show: addresses, ports, user names, keys.
SECRETS_AND_HOSTS = ("127.0.0.1", "localhost", "postgres", "redis://", "http", "rollcall-test")
ANSWER_BOUND_SECONDS = 2.0


def closed_port():
    return free_port()  # nothing listens on it once the probe socket is closed


@contextmanager
def server_that_never_answers():
    """Accepts connections and reads, never writes: a dependency that hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held = []
    stopping = threading.Event()

    def accept():
        while not stopping.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        stopping.set()
        listener.close()
        for connection in held:
            connection.close()


@pytest.fixture
def site_environment(tmp_path, s3_server):  # noqa: F811
    """Production settings on the test database, the configured broker and a bucket of the local
    S3 server: everything up."""
    return production_environment(
        os.environ,
        tmp_path / "var",
        DATABASE_URL=database_url_of_test_db(),
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        **s3_server.environment(s3_server.new_bucket()),
    )


def probe(base_url):
    """What a balancer does: plain HTTP to the server's address, whatever ALLOWED_HOSTS says."""
    started = time.monotonic()
    response = requests.get(base_url + "/healthz", timeout=10)
    return response, time.monotonic() - started


def assert_no_secrets(response):
    for text in SECRETS_AND_HOSTS:
        assert text not in response.text, f"{text!r} in {response.text}"


def test_healthz_is_200_when_everything_is_reachable_without_a_login_a_host_name_or_https(site_environment, tmp_path):
    with gunicorn_site(sys.executable, site_environment, tmp_path / "site.log") as base_url:
        response, seconds = probe(base_url)
        login_over_http = requests.get(
            base_url + "/login/", headers={"Host": "attendance.school.example"}, allow_redirects=False, timeout=10
        )

    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok", "checks": ALL_OK}
    assert response.headers["Cache-Control"] == "no-store"
    assert seconds < ANSWER_BOUND_SECONDS
    assert_no_secrets(response)
    # The rest of the site still goes to HTTPS.
    assert login_over_http.status_code == 301
    assert login_over_http.headers["Location"] == "https://attendance.school.example/login/"


def answer_with(environment, tmp_path):
    with gunicorn_site(sys.executable, environment, tmp_path / "site.log") as base_url:
        return probe(base_url)


def assert_down(response, seconds, check, how=("failed", "timed out")):
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "failing"
    assert body["checks"][check] in how
    assert {name: result for name, result in body["checks"].items() if name != check} == {
        name: "ok" for name in ALL_OK if name != check
    }
    assert seconds < ANSWER_BOUND_SECONDS
    assert_no_secrets(response)


def test_healthz_is_503_naming_the_database_when_it_is_down(site_environment, tmp_path):
    site_environment["DATABASE_URL"] = f"postgres://postgres:secret-password@127.0.0.1:{closed_port()}/rollcall"
    assert_down(*answer_with(site_environment, tmp_path), "database", how=("failed",))


def test_healthz_is_503_naming_the_broker_when_it_is_down(site_environment, tmp_path):
    site_environment["CELERY_BROKER_URL"] = f"redis://:secret-password@127.0.0.1:{closed_port()}/0"
    assert_down(*answer_with(site_environment, tmp_path), "broker", how=("failed",))


def test_healthz_answers_within_its_bound_when_the_broker_hangs(site_environment, tmp_path):
    with server_that_never_answers() as port:
        site_environment["CELERY_BROKER_URL"] = f"redis://127.0.0.1:{port}/0"
        assert_down(*answer_with(site_environment, tmp_path), "broker")


def test_healthz_is_503_naming_the_storage_when_the_s3_server_is_stopped(site_environment, tmp_path):
    with local_s3_server() as stopped:
        bucket = stopped.new_bucket()
    site_environment.update(stopped.environment(bucket))
    assert_down(*answer_with(site_environment, tmp_path), "storage")


def workers_page(client):
    return client.get(reverse("admin:recognition_workerheartbeat_changelist")).content.decode()


def state_shown(client):
    page = workers_page(client)
    return (
        "running"
        if '<td class="field-state">running</td>' in page
        else "stopped"
        if ('<td class="field-state">stopped</td>' in page)
        else None
    )


def queued_capture(session, status=Capture.QUEUED, waited=timedelta(0)):
    capture = Capture(session=session, taken_at=timezone.now(), status=status)
    capture.image.save("capture.jpg", ContentFile(photo_jpeg()))
    Capture.objects.filter(pk=capture.pk).update(created_at=timezone.now() - waited)
    return capture


@pytest.mark.django_db(transaction=True)
def test_the_admin_shows_each_workers_heartbeat_and_the_queue_so_a_stop_is_seen_at_once(client, settings, tmp_path):
    settings.WORKER_HEARTBEAT_SECONDS = 1
    client.force_login(make_user("boss", role="Admin", is_staff=True, is_superuser=True))
    session = make_session(make_course("HB"))
    celery_app.control.purge()
    for waited in (timedelta(minutes=7), timedelta(seconds=30)):
        queued_capture(session, waited=waited)
    queued_capture(session, status=Capture.PROCESSING)

    page = workers_page(client)
    assert "2 class photos waiting for a worker, the oldest for 7 min;" in page
    assert "1 being recognised." in page
    assert state_shown(client) is None  # no worker has ever beaten

    log = tmp_path / "worker.log"
    with worker_process(log, WORKER_HEARTBEAT_SECONDS="1") as worker:
        assert wait_for(lambda: worker_is_ready(log)), log.read_text()[-3000:]
        assert wait_for(lambda: WorkerHeartbeat.objects.exists(), timeout=30), log.read_text()[-3000:]
        heartbeat = WorkerHeartbeat.objects.get()
        first_beat = heartbeat.last_beat_at
        assert wait_for(lambda: WorkerHeartbeat.objects.get().last_beat_at > first_beat, timeout=10)
        assert heartbeat.hostname in workers_page(client) and state_shown(client) == "running"
        # Killed: no shutdown to record; the missing beats show it stopped within three beats.
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    assert wait_for(lambda: state_shown(client) == "stopped", timeout=8)
    assert WorkerHeartbeat.objects.get().stopped_at is None

    log = tmp_path / "second-worker.log"
    with worker_process(log, WORKER_HEARTBEAT_SECONDS="1") as worker:
        assert wait_for(lambda: worker_is_ready(log)), log.read_text()[-3000:]
        assert wait_for(lambda: state_shown(client) == "running", timeout=10)
        worker.terminate()  # a clean shutdown says so at once
        worker.wait(timeout=60)
    assert WorkerHeartbeat.objects.get().stopped_at is not None
    assert state_shown(client) == "stopped"
