"""Enrolling a student by camera: each shot is stored as a pending enrolment photo and checked
by the worker (here eager Celery, the worker's code in-process); the page polls the shot until
it is accepted, or refused with the reason (it then stays, refused and never used). A shot
refused before the engine looks at it needs no face: it is made up (tests.helpers.photo_jpeg)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from recognition.enrolment import add_enrolment_photo
from recognition.models import FacePhoto
from students.consent import record_consent
from students.models import Student
from tests.helpers import photo_jpeg
from tests.web.school import BBT_GROUP_PHOTO

pytestmark = pytest.mark.slow


def shot(content):
    return SimpleUploadedFile("enrolment.jpg", content, content_type="image/jpeg")


@pytest.fixture
def consenting_ada(school):
    record_consent(Student.objects.filter(pk=school.ada.pk), school.admin, "Ada")
    return school.ada


def test_the_student_admin_page_links_to_the_camera_page(client, school):
    client.force_login(school.admin)
    page = client.get(f"/admin/students/student/{school.ada.pk}/change/").content.decode()
    assert f'href="/students/{school.ada.pk}/enrol/"' in page
    assert "Enrol Ada Lovelace by camera" in client.get(f"/students/{school.ada.pk}/enrol/").content.decode()


def send_shot(client, student, content, django_capture_on_commit_callbacks):
    """POST a shot as the page does, let the worker check it after the commit, then poll it."""
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(f"/students/{student.pk}/enrol/check/", {"image": shot(content)})
    assert sent.status_code == 202, sent.content
    assert sent.json()["accepted"] is None and sent.json()["status"] == "pending"
    return sent, client.get(sent.json()["status_url"])


def test_a_shot_of_one_face_is_checked_by_the_worker_and_saved(
    client, school, consenting_ada, faces_dataset, eager_celery, django_capture_on_commit_callbacks
):
    client.force_login(school.admin)
    portrait = (faces_dataset / "identities/BBT_Raj/raj1.jpg").read_bytes()
    sent, verdict = send_shot(client, consenting_ada, portrait, django_capture_on_commit_callbacks)
    photo = FacePhoto.objects.get(student=consenting_ada)
    assert sent.json()["status_url"] == f"/students/{consenting_ada.pk}/enrol/shots/{photo.pk}/"
    assert verdict.json() == {
        "accepted": True,
        "held": False,
        "status": "accepted",
        "reason": "",
        "photo": photo.pk,
        "url": f"/files/enrolment/{photo.pk}/",
        "status_url": sent.json()["status_url"],
    }
    from recognition.processing import face_engine

    assert photo.embeddings.filter(model_name=face_engine().embedder.name, size_px=0).count() == 1


def test_a_shot_of_a_group_is_refused_with_the_reason_and_never_used(
    client, school, consenting_ada, faces_dataset, eager_celery, django_capture_on_commit_callbacks
):
    client.force_login(school.admin)
    group = (faces_dataset / BBT_GROUP_PHOTO).read_bytes()
    _, verdict = send_shot(client, consenting_ada, group, django_capture_on_commit_callbacks)
    assert verdict.json()["accepted"] is False and "faces of similar size" in verdict.json()["reason"]
    # Kept, refused, with its reason (as the admin shows refused photos): no vector, never matched.
    photo = FacePhoto.objects.get(student=consenting_ada)
    assert (photo.status, photo.rejection_reason) == (FacePhoto.REJECTED, verdict.json()["reason"])
    assert not photo.embeddings.exists()
    page = client.get(f"/students/{consenting_ada.pk}/enrol/").content.decode()
    assert "Refused shots" in page and "faces of similar size" in page
    assert f"/files/enrolment/{photo.pk}/" not in page


def test_no_shot_is_taken_without_consent(client, school):
    client.force_login(school.admin)
    response = client.post(f"/students/{school.ada.pk}/enrol/check/", {"image": shot(photo_jpeg())})
    assert response.status_code == 400 and "No consent" in response.json()["reason"]
    assert not FacePhoto.objects.exists()


@pytest.mark.parametrize("who", ["teacher", "ada_user"])
def test_only_staff_may_enrol_by_camera(client, school, consenting_ada, who):
    client.force_login(getattr(school, who))
    assert client.get(f"/students/{consenting_ada.pk}/enrol/").status_code == 404
    response = client.post(f"/students/{consenting_ada.pk}/enrol/check/", {"image": shot(photo_jpeg())})
    assert response.status_code == 404
    assert not FacePhoto.objects.exists()
    photo, _ = add_enrolment_photo(consenting_ada, photo_jpeg(), source=FacePhoto.CAMERA)
    assert client.get(f"/students/{consenting_ada.pk}/enrol/shots/{photo.pk}/").status_code == 404
