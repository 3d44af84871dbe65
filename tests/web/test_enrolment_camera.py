"""Enrolling a student by camera: each shot is checked by the face engine at once; good ones
are stored as enrolment photos, refused ones say why and leave nothing behind. A shot refused
before the engine looks at it needs no face: it is made up (tests.helpers.photo_jpeg)."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from recognition.enrolment import record_consent
from recognition.models import FacePhoto
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


def test_a_shot_of_one_face_is_saved_as_an_enrolment_photo(client, school, consenting_ada, faces_dataset):
    client.force_login(school.admin)
    response = client.post(f"/students/{consenting_ada.pk}/enrol/check/", {"image": shot((faces_dataset / "identities/BBT_Raj/raj1.jpg").read_bytes())})
    assert response.status_code == 201
    photo = FacePhoto.objects.get(student=consenting_ada)
    assert response.json() == {"accepted": True, "photo": photo.pk, "created": True, "url": f"/files/enrolment/{photo.pk}/"}
    # The vector computed to check the shot is kept: the photo is usable before any worker runs.
    from recognition.processing import face_engine

    photo.refresh_from_db()
    assert photo.status == FacePhoto.ACCEPTED
    assert photo.embeddings.filter(model_name=face_engine().embedder.name).count() == 1


def test_a_shot_of_a_group_is_refused_with_the_reason_and_nothing_is_saved(client, school, consenting_ada, faces_dataset):
    client.force_login(school.admin)
    response = client.post(f"/students/{consenting_ada.pk}/enrol/check/", {"image": shot((faces_dataset / BBT_GROUP_PHOTO).read_bytes())})
    assert response.status_code == 400
    assert response.json()["accepted"] is False and "faces" in response.json()["reason"]
    assert not FacePhoto.objects.exists()


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
