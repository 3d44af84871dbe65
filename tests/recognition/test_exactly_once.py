"""Every upload is processed exactly once: photos sent to the API while two real worker processes
take them from the configured broker, with the photos on disk and in an S3 bucket (the local
server of tests/s3_server.py, through boto3 and django-storages as in production). Not timed:
bench/load.py measures the same path under load."""

from contextlib import ExitStack

import pytest
from django.test import Client

from access.devices import issue_token
from access.models import DeviceToken
from attendance_site.celery import app as celery_app
from recognition.models import Capture, DetectedFace
from tests import processes
from tests.factories import make_course, make_session
from tests.helpers import enrol_identities, wait_for
from tests.processes import worker_is_ready
from tests.s3_server import s3_server  # noqa: F401  fixture

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

UPLOADS = 6
PHOTOS = ["faceapi_bbt3.jpg", "faceapi_bbt4.jpg"]  # 5 and 6 faces
ENROLLED = ["BBT_Sheldon", "BBT_Raj"]
WORKERS = 2
# Two workers load their models at once before the first photo: minutes on a busy machine.
TIMEOUT = 600


@pytest.fixture(params=["filesystem", "s3"])
def stored(request, settings):
    """(the variables that point a worker at the photos, a function listing the stored names
    under a prefix), with the photos in the test's MEDIA_ROOT or in a new bucket."""
    if request.param == "filesystem":

        def names(prefix):
            folder = settings.MEDIA_ROOT / prefix
            return sorted(f"{prefix}/{path.name}" for path in folder.iterdir()) if folder.is_dir() else []

        return {}, names
    server = request.getfixturevalue("s3_server")
    bucket = server.new_bucket()
    settings.STORAGES = {**settings.STORAGES, "default": server.storage(bucket)}
    return server.environment(bucket), lambda prefix: server.keys(bucket, f"{prefix}/")


def test_every_upload_is_processed_exactly_once_by_two_workers(faces_dataset, tmp_path, stored):
    environment, stored_names = stored
    course = make_course("BBT")
    enrol_identities(faces_dataset, ENROLLED, course)
    session = make_session(course)
    device = DeviceToken(name="Room camera", course=course)
    token = issue_token(device)
    device.save()
    # The enrolment photos' messages went to the broker before any worker listened; the
    # workers' start-up sweep embeds them. Leave the queue empty, as the other worker tests do.
    celery_app.control.purge()
    client = Client()
    logs = [tmp_path / f"worker{n}.log" for n in range(WORKERS)]

    with ExitStack() as workers:
        for log in logs:
            workers.enter_context(processes.worker_on_test_database(log, **environment))
        assert wait_for(lambda: all(worker_is_ready(log) for log in logs), TIMEOUT), "the workers did not start"
        ids = []
        for n in range(UPLOADS):
            photo = faces_dataset / "group" / PHOTOS[n % len(PHOTOS)]
            with open(photo, "rb") as image:
                response = client.post(
                    f"/api/sessions/{session.pk}/captures/", {"image": image}, HTTP_AUTHORIZATION=f"Token {token}"
                )
            assert response.status_code == 202, response.content
            ids.append(response.json()["id"])
        finished = wait_for(
            lambda: not Capture.objects.filter(pk__in=ids, status__in=[Capture.QUEUED, Capture.PROCESSING]).exists(),
            TIMEOUT,
        )
        assert finished, "\n".join(log.read_text()[-2000:] for log in logs)

    captures = list(Capture.objects.filter(pk__in=ids).order_by("pk"))
    assert [(c.status, c.error) for c in captures] == [(Capture.DONE, "")] * UPLOADS
    # One attempt each: no second delivery started the photo again, on either worker.
    assert [c.attempts for c in captures] == [1] * UPLOADS
    assert [c.face_count for c in captures] == [5, 6] * (UPLOADS // 2)
    faces = DetectedFace.objects.filter(capture__in=captures)
    for capture in captures:
        assert faces.filter(capture=capture).count() == capture.face_count
    # Each worker holds at most one message at a time (prefetch 1): both took photos.
    assert all("recognition.tasks.process_capture[" in log.read_text() for log in logs)
    # One stored photo per upload and one crop per face found, nothing twice, nothing left over.
    assert stored_names("captures") == sorted(c.image.name for c in captures)
    assert stored_names("crops") == sorted(faces.values_list("crop", flat=True))
    assert len(stored_names("crops")) == sum(c.face_count for c in captures)
