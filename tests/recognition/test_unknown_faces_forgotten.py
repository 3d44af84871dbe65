"""Faces that mark nobody keep their descriptor and crop only while the session needs them
(issue 20): a teacher reviews them while it is open; its close deletes them, and so does the
beat sweep UNKNOWN_FACE_HOURS after it ended if nobody closes it. The faces of students stay."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from recognition.models import DetectedFace, RetentionSweep, SessionPerson
from recognition.tasks import forget_unclaimed_faces
from tests.factories import make_course, make_session, make_student, make_user
from tests.helpers import photo_jpeg
from tests.recognition.test_privacy import make_capture_with_face, stored_path

pytestmark = pytest.mark.django_db(transaction=True)

DESCRIPTOR = b"\1" * 16


def a_face(session, jpeg, student=None, dismissed=False, person=None):
    _, face = make_capture_with_face(session, jpeg, student=student)
    DetectedFace.objects.filter(pk=face.pk).update(embedding=DESCRIPTOR, dismissed=dismissed, person=person)
    face.refresh_from_db()
    return face


def kept(face):
    face.refresh_from_db()
    return bool(face.embedding), bool(face.crop)


def test_closing_the_session_deletes_the_descriptors_and_crops_of_faces_that_mark_nobody(client):
    jpeg = photo_jpeg()
    teacher = make_user("teacher", role="Teacher")
    student = make_student("S1")
    session = make_session(make_course(teacher=teacher, students=[student]))
    person = SessionPerson.objects.create(session=session, embedder="test", descriptor_sum=b"\2" * 16, face_count=1)
    unknown = a_face(session, jpeg, person=person)
    dismissed = a_face(session, jpeg, dismissed=True)
    marked = a_face(session, jpeg, student=student)
    files = {face.pk: stored_path(face.crop) for face in (unknown, dismissed, marked)}
    client.force_login(teacher)
    # Review while the session is open: the unknown face's crop is shown.
    assert client.get(reverse("face_crop_image", args=[unknown.pk])).status_code == 200

    assert client.post(reverse("session_close", args=[session.pk]), {"confirm": "yes"}).status_code == 302

    assert kept(unknown) == kept(dismissed) == (False, False)
    assert not files[unknown.pk].exists() and not files[dismissed.pk].exists()
    assert kept(marked) == (True, True) and files[marked.pk].exists()
    person.refresh_from_db()
    assert person.descriptor_sum == b""
    # The face is still there to decide about, without its image.
    assert client.get(reverse("face_crop_image", args=[unknown.pk])).status_code == 404


def test_the_sweep_forgets_them_when_nobody_closes_the_session(settings):
    settings.UNKNOWN_FACE_HOURS = 24
    jpeg = photo_jpeg()
    ended_yesterday = make_session(make_course("OLD"), starts_at=timezone.now() - timedelta(hours=26))
    ended_an_hour_ago = make_session(make_course("NEW"), starts_at=timezone.now() - timedelta(hours=2))
    old, new = a_face(ended_yesterday, jpeg), a_face(ended_an_hour_ago, jpeg)

    assert forget_unclaimed_faces() == 1

    assert kept(old) == (False, False)
    assert kept(new) == (True, True)
    assert RetentionSweep.objects.get(name="forget_unclaimed_faces").result == {"faces": 1}


def test_the_records_of_processing_count_what_is_stored_and_say_when_the_sweep_ran(client):
    a_face(make_session(make_course("OLD"), starts_at=timezone.now() - timedelta(days=2)), photo_jpeg())
    forget_unclaimed_faces()
    a_face(make_session(make_course("NEW")), photo_jpeg())
    client.force_login(make_user("dpo", role="Admin", is_staff=True))

    page = client.get(reverse("admin:recognition_retentionsweep_changelist")).content.decode()

    assert "Faces marking nobody that still keep a descriptor or crop (sessions not closed yet)</th><td>1<" in page
    assert "Face crops kept</th><td>1<" in page
    assert "Last retention sweep forget_unclaimed_faces:" in page
    assert "Face data is NOT sealed" in page  # the tests run without FACE_DATA_KEY


def test_after_the_close_the_api_gives_no_address_for_a_crop_that_is_gone(client):
    teacher = make_user("teacher", role="Teacher")
    session = make_session(make_course(teacher=teacher))
    person = SessionPerson.objects.create(session=session, embedder="test", descriptor_sum=b"\2" * 16, face_count=1)
    a_face(session, photo_jpeg(), person=person)
    client.force_login(teacher)
    asked = client.get(f"/api/sessions/{session.pk}/unknown-people/").json()
    assert asked[0]["faces"][0]["crop_url"].endswith("/")

    client.post(reverse("session_close", args=[session.pk]), {"confirm": "yes"})

    assert client.get(f"/api/sessions/{session.pk}/unknown-people/").json()[0]["faces"][0]["crop_url"] is None
