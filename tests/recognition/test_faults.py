"""Crashes and refusals lose nothing: a worker killed mid-capture, a database that refuses a
write. Real worker processes, a real SIGKILL, a real database trigger; nothing of ours mocked.

Runs on the configured database and broker: SQLite + the filesystem broker by default,
PostgreSQL + Redis with DATABASE_URL and CELERY_BROKER_URL set.
"""

import json
import shutil
import signal
import subprocess
import time
from contextlib import contextmanager

import pytest
import redis
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from kombu import Connection

from attendance_site.celery import app as celery_app
from recognition.captures import create_capture, retry_capture
from recognition.models import Capture, DetectedFace
from recognition.tasks import process_capture
from students.models import AttendanceChange, AttendanceRecord
from tests import processes
from tests.factories import make_course, make_session, make_user
from tests.helpers import enrol_identities, photo_jpeg, skip_or_fail, wait_for
from tests.processes import worker_is_ready

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

# In faceapi_bbt3.jpg: Sheldon, Howard, Raj and two people who are not in the dataset.
ENROLLED = ["BBT_Sheldon", "BBT_Raj"]
RECOGNISED = {"BBT Sheldon": "present", "BBT Raj": "present"}
FACES_IN_PHOTO = 5
# Small, so that Redis gives a dead worker's message back within the test.
VISIBILITY_TIMEOUT = 5
USES_REDIS = settings.CELERY_BROKER_URL.startswith("redis")


def group_photo(faces_dataset):
    return SimpleUploadedFile("bbt3.jpg", (faces_dataset / "group" / "faceapi_bbt3.jpg").read_bytes(), "image/jpeg")


def status_of(capture):
    return Capture.objects.values_list("status", flat=True).get(pk=capture.pk)


def crop_files():
    folder = settings.MEDIA_ROOT / "crops"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def worker_process(log_path, **environment):
    """A real `celery worker` process on the test database, with a short visibility timeout."""
    environment = {"CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT), **environment}
    return processes.worker_on_test_database(log_path, **environment)


def redis_holds_unacked_message_for(capture):
    """Whether Redis keeps the task message a worker took for this capture and never acknowledged."""
    with celery_app.connection_for_read() as broker:
        held = broker.default_channel.client.hvals("unacked")
    return any(json.loads(raw)[0]["headers"]["argsrepr"] == repr((capture.pk,)) for raw in held)


def test_a_capture_whose_worker_is_killed_mid_way_is_finished_once_by_another_worker(faces_dataset, tmp_path):
    course = make_course("BBT")
    enrol_identities(faces_dataset, ENROLLED, course)
    session = make_session(course)
    celery_app.control.purge()  # the enrolment photos are queued again when the worker starts

    with worker_process(tmp_path / "first-worker.log") as first_worker:
        # After "ready" the worker's start-up sweep has run: the capture's only message is the
        # one create_capture sends.
        assert wait_for(lambda: worker_is_ready(tmp_path / "first-worker.log")), "the first worker did not start"
        capture = create_capture(session, group_photo(faces_dataset))
        assert wait_for(lambda: status_of(capture) != Capture.QUEUED, interval=0.05), "the first worker never took it"
        first_worker.send_signal(signal.SIGKILL)
        first_worker.wait(timeout=10)

    capture.refresh_from_db()
    assert capture.status == Capture.PROCESSING, "the worker was not killed in the middle of the capture"
    assert capture.attempts == 1
    assert not DetectedFace.objects.filter(capture=capture).exists()
    assert not session.attendance.exists()

    if USES_REDIS:
        # Redis saves it: the unacknowledged message stays aside in Redis and goes back to the
        # queue once the visibility timeout has passed (the next worker's start-up sweep also
        # sends the capture again; processing it twice changes nothing).
        assert redis_holds_unacked_message_for(capture)
        time.sleep(max(0.0, capture.started_at.timestamp() + VISIBILITY_TIMEOUT - time.time()))
    # With the filesystem broker the message is gone: kombu's filesystem transport deletes the
    # message file when it delivers it and keeps the unacknowledged copy only in the worker's
    # memory. The next worker's start-up sweep (recognition.tasks.requeue_waiting_captures)
    # saves it: the database still says the capture is processing.

    with worker_process(tmp_path / "second-worker.log"):
        assert wait_for(lambda: status_of(capture) in (Capture.DONE, Capture.FAILED)), (
            "no worker finished the capture: " + (tmp_path / "second-worker.log").read_text()[-3000:]
        )

    capture.refresh_from_db()
    assert capture.status == Capture.DONE, capture.error
    assert capture.attempts == 2  # the killed run and one complete run; a duplicate delivery found it done
    assert DetectedFace.objects.filter(capture=capture).count() == FACES_IN_PHOTO == capture.face_count
    assert dict(session.attendance.values_list("student__full_name", "status")) == RECOGNISED
    assert AttendanceChange.objects.filter(record__session=session).count() == len(RECOGNISED)


@contextmanager
def private_redis(port, folder):
    """A `redis-server` of the test's own on 127.0.0.1:port, without persistence, as Redis runs
    here: no RDB snapshot, no append-only file, so a restart starts empty. Killed on the way out
    whatever happened; yields a client."""
    folder.mkdir(parents=True, exist_ok=True)
    command = [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(folder),
        "--daemonize",
        "no",
    ]
    with open(folder / "redis.log", "ab") as log:
        process = subprocess.Popen(command, cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)

    def answers():
        try:
            return client.ping()
        except redis.ConnectionError:
            return process.poll() is not None  # it exited: stop waiting, and say so below

    try:
        assert wait_for(answers, timeout=10, interval=0.05) and process.poll() is None, (
            "the private redis-server did not start: " + (folder / "redis.log").read_text()[-2000:]
        )
        yield client
    finally:
        client.close()
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)


def test_captures_queued_when_redis_restarts_without_persistence_are_processed_once(faces_dataset, tmp_path):
    """Redis runs without persistence here: a restart loses every queued message. The worker's
    start-up sweep (recognition.tasks.requeue_waiting_captures) finds the capture still queued
    in the database and sends it again. A private Redis, really killed and restarted; the
    shared Redis is left alone."""
    if shutil.which("redis-server") is None:
        skip_or_fail("redis-server is not on PATH: this test restarts a real Redis.")
    port = processes.free_port()
    broker_url = f"redis://127.0.0.1:{port}/0"
    course = make_course("BBT")
    enrol_identities(faces_dataset, ENROLLED, course)
    session = make_session(course)
    capture = create_capture(session, group_photo(faces_dataset))
    # create_capture sent its message to the configured broker, where no worker of this test
    # listens; like the other tests, leave that queue empty.
    celery_app.control.purge()
    assert status_of(capture) == Capture.QUEUED

    with private_redis(port, tmp_path / "redis") as broker:
        # The message create_capture sends, sent by the app itself over a connection to the
        # private Redis; no worker is running. (A second Celery(broker=...) app would not do:
        # Celery prefers a CELERY_BROKER_URL in the environment to its broker argument.)
        with Connection(broker_url) as to_private_redis:
            process_capture.apply_async((capture.pk,), connection=to_private_redis)
        assert broker.llen("celery") == 1
        assert json.loads(broker.lindex("celery", 0))["headers"]["argsrepr"] == repr((capture.pk,))

    # Killed (SIGKILL: nothing saved on the way out) and started again on the same port.
    with private_redis(port, tmp_path / "redis") as broker:
        assert broker.llen("celery") == 0, (
            "the restarted Redis still holds the message: it is not the restart under test"
        )
        assert broker.dbsize() == 0
        assert status_of(capture) == Capture.QUEUED

        log_path = tmp_path / "worker.log"
        # A long visibility timeout: a capture that takes a while is not delivered a second time.
        with worker_process(log_path, CELERY_BROKER_URL=broker_url, CELERY_VISIBILITY_TIMEOUT="300"):
            assert wait_for(lambda: status_of(capture) in (Capture.DONE, Capture.FAILED)), (
                "no worker finished the capture: " + log_path.read_text()[-3000:]
            )
        # Celery logs the URL with the password masked: "Connected to redis://:**@127.0.0.1:PORT/0".
        assert f"127.0.0.1:{port}/0" in log_path.read_text(), "the worker did not use the private Redis"

    capture.refresh_from_db()
    assert capture.status == Capture.DONE, capture.error
    assert capture.attempts == 1  # the lost message never ran; the start-up sweep's ran once
    assert DetectedFace.objects.filter(capture=capture).count() == FACES_IN_PHOTO == capture.face_count
    assert len(crop_files()) == FACES_IN_PHOTO
    assert dict(session.attendance.values_list("student__full_name", "status")) == RECOGNISED
    assert AttendanceChange.objects.filter(record__session=session).count() == len(RECOGNISED)


REFUSE_SECOND_RECORD = {
    "sqlite": [
        """CREATE TRIGGER refuse_second_record BEFORE INSERT ON students_attendancerecord
           WHEN EXISTS (SELECT 1 FROM students_attendancerecord WHERE session_id = NEW.session_id)
           BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END""",
    ],
    "postgresql": [
        """CREATE FUNCTION refuse_second_record() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
             IF EXISTS (SELECT 1 FROM students_attendancerecord WHERE session_id = NEW.session_id) THEN
               RAISE EXCEPTION 'disk full (test)';
             END IF;
             RETURN NEW;
           END $$""",
        """CREATE TRIGGER refuse_second_record BEFORE INSERT ON students_attendancerecord
           FOR EACH ROW EXECUTE FUNCTION refuse_second_record()""",
    ],
}
ACCEPT_RECORDS_AGAIN = {
    "sqlite": ["DROP TRIGGER IF EXISTS refuse_second_record"],
    "postgresql": [
        "DROP TRIGGER IF EXISTS refuse_second_record ON students_attendancerecord",
        "DROP FUNCTION IF EXISTS refuse_second_record()",
    ],
}


def run_sql(statements):
    with connection.cursor() as cursor:
        for statement in statements[connection.vendor]:
            cursor.execute(statement)


@pytest.fixture
def database_refuses_second_record():
    """The database refuses to insert a session's second attendance record, as a full disk
    would refuse a write half-way through a capture. Triggers outlive the test's data: the
    trigger is dropped whatever happens."""
    run_sql(REFUSE_SECOND_RECORD)
    yield lambda: run_sql(ACCEPT_RECORDS_AGAIN)
    run_sql(ACCEPT_RECORDS_AGAIN)


def test_a_write_refused_mid_capture_leaves_nothing_and_the_capture_can_be_retried(
    faces_dataset, engine, database_refuses_second_record
):
    accept_records_again = database_refuses_second_record
    course = make_course("BBT")
    enrol_identities(faces_dataset, ENROLLED, course)
    session = make_session(course)
    celery_app.control.purge()

    with processes.worker_in_this_process():
        capture = create_capture(session, group_photo(faces_dataset))
        assert wait_for(lambda: status_of(capture) in (Capture.DONE, Capture.FAILED))

        capture.refresh_from_db()
        assert capture.status == Capture.FAILED
        assert capture.error == "Recognition failed: disk full (test). Retry it from the session page."
        assert not DetectedFace.objects.filter(capture=capture).exists()
        assert not AttendanceRecord.objects.filter(session=session).exists()
        assert not AttendanceChange.objects.filter(record__session=session).exists()
        assert crop_files() == []

        accept_records_again()
        assert retry_capture(capture)
        assert capture.status == Capture.QUEUED and capture.error == ""
        assert wait_for(lambda: status_of(capture) in (Capture.DONE, Capture.FAILED))

    capture.refresh_from_db()
    assert capture.status == Capture.DONE, capture.error
    assert capture.attempts == 1  # a person's retry starts the count of attempts again
    assert DetectedFace.objects.filter(capture=capture).count() == FACES_IN_PHOTO
    assert len(crop_files()) == FACES_IN_PHOTO
    assert dict(session.attendance.values_list("student__full_name", "status")) == RECOGNISED


def test_a_capture_that_is_done_is_not_retried(faces_dataset):
    course = make_course("BBT")
    enrol_identities(faces_dataset, ENROLLED, course)
    capture = create_capture(make_session(course), group_photo(faces_dataset))
    Capture.objects.filter(pk=capture.pk).update(status=Capture.DONE)

    assert not retry_capture(capture)
    assert capture.status == Capture.DONE


def test_a_capture_whose_worker_died_each_time_fails_with_the_reason_instead_of_going_round_again(
    client, engine, settings
):
    """Each delivery counts an attempt as it starts; a worker that dies (out of memory on a huge
    photo) leaves the capture processing and its message is handed out again. After
    CAPTURE_MAX_ATTEMPTS such starts the next delivery gives it up, and the teacher sees why."""
    settings.CAPTURE_MAX_ATTEMPTS = 3
    teacher = make_user("teacher", role="Teacher")
    course = make_course("BBT", teacher=teacher)
    session = make_session(course)
    given_up, last_chance = (
        create_capture(session, SimpleUploadedFile("class.jpg", photo_jpeg(), "image/jpeg")) for _ in range(2)
    )
    # What three (and two) workers killed mid-photo leave behind.
    Capture.objects.filter(pk=given_up.pk).update(status=Capture.PROCESSING, attempts=3)
    Capture.objects.filter(pk=last_chance.pk).update(status=Capture.PROCESSING, attempts=2)

    process_capture(given_up.pk)
    process_capture(last_chance.pk)

    given_up.refresh_from_db()
    assert (given_up.status, given_up.attempts) == (Capture.FAILED, 3)
    assert "started 3 times and never finished" in given_up.error
    assert not DetectedFace.objects.filter(capture=given_up).exists()
    last_chance.refresh_from_db()
    assert (last_chance.status, last_chance.attempts) == (Capture.DONE, 3), last_chance.error

    client.force_login(teacher)
    assert client.get(f"/api/captures/{given_up.pk}/").json()["status"] == "failed"
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "started 3 times and never finished" in page
    # "Try again" is a person's decision: the photo gets its attempts again.
    client.post(f"/captures/{given_up.pk}/retry/")
    given_up.refresh_from_db()
    assert (given_up.status, given_up.attempts) == (Capture.QUEUED, 0)
