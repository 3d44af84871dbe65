"""GET /healthz as a load balancer sees it: a real gunicorn in production settings, over plain
HTTP to its address, with the database, the broker or the storage really down (a closed port,
a stopped S3 server, a server that never answers)."""
import os
import socket
import sys
import threading
import time
from contextlib import contextmanager

import pytest
import requests
from django.conf import settings

from tests.recognition.test_faults import database_url_of_test_db
from tests.s3_server import free_loopback_port, local_s3_server, s3_server  # noqa: F401  fixture
from tests.site_server import gunicorn_site, production_environment

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

ALL_OK = {"database": "ok", "broker": "ok", "storage": "ok"}
# What the answer must never show: addresses, ports, user names, keys.
SECRETS_AND_HOSTS = ("127.0.0.1", "localhost", "postgres", "redis://", "http", "rollcall-test")
ANSWER_BOUND_SECONDS = 2.0


def closed_port():
    return free_loopback_port()  # nothing listens on it once the probe socket is closed


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
        os.environ, tmp_path / "var", DATABASE_URL=database_url_of_test_db(),
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL, **s3_server.environment(s3_server.new_bucket()),
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
