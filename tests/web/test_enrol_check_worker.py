"""The enrolment camera's check runs in a real Celery worker on the configured broker: the web
request only stores the shot (pending) and answers 202; the page's poll then reads the
worker's verdict."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from attendance_site.celery import app as celery_app
from recognition.models import FacePhoto
from students.consent import record_consent
from students.models import Student
from tests.factories import make_student, make_user
from tests.helpers import wait_for
from tests.processes import worker_in_this_process
from tests.recognition.conftest import engine  # noqa: F401 - fixture
from tests.web.school import BBT_GROUP_PHOTO

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

WORKER_TIMEOUT = 180  # the worker loads the models first: minutes on a busy machine


def test_a_real_worker_accepts_a_portrait_and_refuses_a_group_shot(client, faces_dataset, engine):  # noqa: F811
    client.force_login(make_user("boss", is_staff=True, is_superuser=True))
    raj = make_student("S1", "Raj Koothrappali")
    record_consent(Student.objects.filter(pk=raj.pk), None, "Raj")
    celery_app.control.purge()
    shots = {
        "portrait": (faces_dataset / "identities" / "BBT_Raj" / "raj1.jpg").read_bytes(),
        "group": (faces_dataset / BBT_GROUP_PHOTO).read_bytes(),
    }
    sent = {}
    for name, content in shots.items():
        upload = SimpleUploadedFile(f"{name}.jpg", content, "image/jpeg")
        response = client.post(f"/students/{raj.pk}/enrol/check/", {"image": upload})
        assert response.status_code == 202 and response.json()["accepted"] is None
        sent[name] = response.json()["status_url"]
    # No worker yet: the web process only stored the shots.
    assert set(FacePhoto.objects.values_list("status", flat=True)) == {FacePhoto.PENDING}

    def verdict(name):
        return client.get(sent[name]).json()

    with worker_in_this_process():
        assert wait_for(lambda: all(verdict(name)["accepted"] is not None for name in sent), WORKER_TIMEOUT)

    assert verdict("portrait")["accepted"] is True
    assert verdict("group")["accepted"] is False and "faces of similar size" in verdict("group")["reason"]
    assert FacePhoto.objects.get(pk=verdict("portrait")["photo"]).embeddings.filter(size_px=0).count() == 1
