"""Face images are biometric data: they leave the disk with their rows, and old class photos
are not kept longer than the retention period. The files need not show a face (tests.helpers.photo_jpeg),
except the one the face engine must accept."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.test import override_settings
from django.utils import timezone

from recognition.enrolment import add_enrolment_photo
from recognition.models import Capture, DetectedFace, FaceEmbedding, FacePhoto
from recognition.tasks import delete_expired_captures
from students.attendance import mark_seen
from tests.factories import make_course, make_session, make_student
from tests.helpers import photo_jpeg

pytestmark = pytest.mark.django_db(transaction=True)


def a_portrait(dataset):
    return (dataset / "identities" / "Tony_Blair" / "Tony_Blair_0001.jpg").read_bytes()


def make_capture_with_face(session, jpeg, student=None, age_days=0):
    capture = Capture(session=session, taken_at=timezone.now(), status=Capture.DONE)
    capture.image.save("c.jpg", ContentFile(jpeg), save=False)
    capture.save()
    Capture.objects.filter(pk=capture.pk).update(created_at=timezone.now() - timedelta(days=age_days))
    face = DetectedFace(capture=capture, x1=1, y1=1, x2=50, y2=50, score=0.99, student=student)
    face.crop.save("f.jpg", ContentFile(jpeg), save=False)
    face.save()
    return capture, face


def stored_path(field):
    return Path(field.storage.path(field.name))


def test_deleting_a_student_removes_their_photos_crops_embeddings_and_files():
    jpeg = photo_jpeg()
    student = make_student("S1", "Tony")
    session = make_session(make_course(students=[student]))
    photo, _ = add_enrolment_photo(student, jpeg, source=FacePhoto.ADMIN)
    FaceEmbedding.objects.create(photo=photo, model_name="test", vector=b"\0" * 16)
    capture, face = make_capture_with_face(session, jpeg, student=student)
    files = [stored_path(photo.image), stored_path(face.crop)]
    assert all(path.exists() for path in files)

    student.delete()

    assert not any(path.exists() for path in files)
    assert not FaceEmbedding.objects.exists()
    assert not DetectedFace.objects.filter(pk=face.pk).exists()
    assert stored_path(capture.image).exists()  # the class photo shows other students too


@override_settings(CAPTURE_RETENTION_DAYS=30)
def test_expired_captures_and_their_crops_are_deleted_but_attendance_stays():
    jpeg = photo_jpeg()
    student = make_student("S1", "Tony")
    session = make_session(make_course(students=[student]))
    old_capture, old_face = make_capture_with_face(session, jpeg, age_days=31)
    new_capture, new_face = make_capture_with_face(session, jpeg, age_days=29)
    mark_seen(session, student, session.starts_at, "photo", 0.3)
    old_files = [stored_path(old_capture.image), stored_path(old_face.crop)]

    assert delete_expired_captures() == {"captures": 1, "orphaned_files": 0}

    assert not any(path.exists() for path in old_files)
    assert list(Capture.objects.values_list("pk", flat=True)) == [new_capture.pk]
    assert stored_path(new_face.crop).exists()
    assert session.attendance.get().status == "present"


def test_files_no_row_points_to_are_deleted_once_they_are_an_hour_old():
    """A worker killed between writing a crop and committing its row leaves such a file."""
    import os
    import time

    from django.core.files.storage import default_storage

    jpeg = photo_jpeg()
    session = make_session(make_course())
    capture, face = make_capture_with_face(session, jpeg)
    old_orphan = default_storage.save("crops/old-orphan.jpg", ContentFile(jpeg))
    new_orphan = default_storage.save("crops/new-orphan.jpg", ContentFile(jpeg))
    two_hours_ago = time.time() - 7200
    for name in (old_orphan, face.crop.name, capture.image.name):
        os.utime(default_storage.path(name), (two_hours_ago, two_hours_ago))

    assert delete_expired_captures() == {"captures": 0, "orphaned_files": 1}

    assert not default_storage.exists(old_orphan)
    assert default_storage.exists(new_orphan)  # its row may not be committed yet
    assert default_storage.exists(face.crop.name) and default_storage.exists(capture.image.name)


def test_an_admin_can_export_everything_stored_about_one_student(client):
    import io
    import json
    import zipfile

    from django.urls import reverse

    from tests.factories import make_user

    jpeg = photo_jpeg()
    student = make_student("S1", "Tony")
    session = make_session(make_course("HIST", students=[student]))
    photo, _ = add_enrolment_photo(student, jpeg, source=FacePhoto.ADMIN)
    make_capture_with_face(session, jpeg, student=student)
    mark_seen(session, student, session.starts_at, "photo", 0.31)
    client.force_login(make_user("boss", is_staff=True, is_superuser=True))

    response = client.post(
        reverse("admin:students_student_changelist"),
        {"action": "export_student_data", "_selected_action": [student.pk]},
    )

    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    record = json.loads(archive.read("student.json"))
    assert record["full_name"] == "Tony"
    assert record["courses"] == [{"code": "HIST", "name": "Course HIST", "member_from": None, "member_until": None}]
    assert [(a["status"], a["match_distance"]) for a in record["attendance"]] == [("present", 0.31)]
    photo_file = record["enrolment_photos"][0]["file"]
    assert archive.read(photo_file) == jpeg
    assert archive.read(record["recognised_in_class_photos"][0]["file"]) == jpeg


def test_enrolment_photos_are_served_to_their_teachers_and_admins_only_never_from_a_public_path(client):
    from tests.factories import make_user

    jpeg = photo_jpeg()
    student_user = make_user("tony", role="Student")
    student = make_student("S1", "Tony", user=student_user)
    teacher = make_user("teach", role="Teacher")
    make_course("HIST", teacher=teacher, students=[student])
    photo, _ = add_enrolment_photo(student, jpeg, source=FacePhoto.ADMIN)
    url = f"/files/enrolment/{photo.pk}/"

    assert client.get(url).status_code == 302  # anonymous: to the login page
    # The student's own teacher sees it (to check what recognises them); another teacher and
    # the student do not.
    for user in (make_user("other_teacher"), student_user):
        client.force_login(user)
        assert client.get(url).status_code == 404
    client.force_login(teacher)
    assert client.get(url).status_code == 200
    client.force_login(make_user("boss", role="Admin", is_staff=True))
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == jpeg
    assert response["Cache-Control"] == "private, no-store"
    assert client.get("/media/" + photo.image.name).status_code == 404


def test_no_enrolment_photo_is_processed_before_consent_is_recorded(faces_dataset, engine):
    from recognition.models import FacePhoto
    from recognition.processing import NO_CONSENT_REASON, embed_missing_photos
    from students.consent import record_consent
    from students.models import Student

    student = make_student("S1", "Tony")
    photo, _ = add_enrolment_photo(student, a_portrait(faces_dataset), source=FacePhoto.ADMIN)

    assert embed_missing_photos(Student.objects.filter(pk=student.pk), engine) == 0
    photo.refresh_from_db()
    assert (photo.status, photo.rejection_reason) == (FacePhoto.PENDING, NO_CONSENT_REASON)
    assert not FaceEmbedding.objects.exists()

    record_consent(Student.objects.filter(pk=student.pk), None, "guardian: Cherie Blair")
    assert embed_missing_photos(Student.objects.filter(pk=student.pk), engine) == 1
    photo.refresh_from_db()
    assert photo.status == FacePhoto.ACCEPTED
    assert FaceEmbedding.objects.get(photo=photo, size_px=0).model_name == engine.embedder.name
