"""The whole path with a real Celery worker on the configured broker (Redis in CI, the
filesystem broker by default): upload -> queue -> detect, embed, match -> attendance."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from attendance_site.celery import app as celery_app
from recognition.captures import create_capture
from recognition.models import Capture, DetectedFace, FacePhoto
from recognition.processing import process_capture
from students.models import AttendanceRecord
from tests.factories import make_course, make_session
from tests.helpers import enrol_identities, wait_for
from tests.processes import worker_in_this_process

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

# A worker loads the models before its first capture: seconds, or minutes on a busy machine.
WORKER_TIMEOUT = 180
BBT4_PEOPLE = ["BBT_Raj", "BBT_Sheldon", "BBT_Bernadette"]  # group_identities.csv; 3 others are unknown


def attendance_snapshot(session):
    return sorted(session.attendance.values_list("student__full_name", "status", "first_seen_at", "source"))


def faces_snapshot(capture):
    return sorted(
        DetectedFace.objects.filter(capture=capture).values_list("x1", "y1", "x2", "y2", "student__full_name")
    )


def test_a_real_worker_marks_the_enrolled_people_in_a_group_photo_present(faces_dataset, engine):
    course = make_course("BBT")
    # Howard is enrolled but not in this photo: he must stay unmarked.
    students = enrol_identities(faces_dataset, BBT4_PEOPLE + ["BBT_Howard"], course)
    session = make_session(course)
    photo = (faces_dataset / "group" / "faceapi_bbt4.jpg").read_bytes()
    celery_app.control.purge()

    with worker_in_this_process():
        capture = create_capture(session, SimpleUploadedFile("bbt4.jpg", photo, "image/jpeg"))
        assert wait_for(
            lambda: Capture.objects.get(pk=capture.pk).status in (Capture.DONE, Capture.FAILED), WORKER_TIMEOUT
        )
        assert wait_for(lambda: not FacePhoto.objects.filter(status=FacePhoto.PENDING).exists(), WORKER_TIMEOUT)

    capture.refresh_from_db()
    assert capture.status == Capture.DONE, capture.error
    assert capture.face_count == 6
    assert capture.detect_ms > 0 and capture.total_ms >= capture.detect_ms
    present = dict(session.attendance.values_list("student__full_name", "status"))
    # Raj's face here is 0.315 from his photos, just past the calibrated auto-mark distance
    # (0.313): a suggestion for the teacher, which marks nobody (suggestions are not stored yet).
    assert present == {"BBT Sheldon": "present", "BBT Bernadette": "present"}
    assert students["BBT Howard"].attendance.count() == 0
    assert DetectedFace.objects.filter(capture=capture, student__isnull=True).count() == 4


def test_processing_a_capture_twice_changes_nothing(faces_dataset, engine):
    course = make_course("BBT")
    enrol_identities(faces_dataset, BBT4_PEOPLE, course)
    session = make_session(course)
    photo = (faces_dataset / "group" / "faceapi_bbt3.jpg").read_bytes()
    capture = create_capture(session, SimpleUploadedFile("bbt3.jpg", photo, "image/jpeg"))

    process_capture(capture.pk)
    first = (attendance_snapshot(session), faces_snapshot(capture))
    assert len(first[0]) == 2  # Sheldon and Raj are enrolled in this course and in bbt3

    # A redelivered message finds the capture done and leaves it alone ...
    process_capture(capture.pk)
    assert (attendance_snapshot(session), faces_snapshot(capture)) == first
    # ... and a capture whose first run died before finishing is redone with the same result.
    Capture.objects.filter(pk=capture.pk).update(status=Capture.PROCESSING)
    process_capture(capture.pk)
    assert (attendance_snapshot(session), faces_snapshot(capture)) == first
    assert AttendanceRecord.objects.filter(session=session).count() == 2


def test_captures_whose_messages_were_lost_are_processed_when_a_worker_starts(faces_dataset, engine):
    """Redis runs without persistence: a restart empties the queue. Purging the queue does the
    same to the messages; the worker must find the captures still queued in the database."""
    course = make_course("BBT")
    enrol_identities(faces_dataset, ["BBT_Sheldon"], course)
    session = make_session(course)
    photo = (faces_dataset / "group" / "faceapi_bbt3.jpg").read_bytes()
    capture = create_capture(session, SimpleUploadedFile("bbt3.jpg", photo, "image/jpeg"))
    celery_app.control.purge()

    with worker_in_this_process():
        assert wait_for(lambda: Capture.objects.get(pk=capture.pk).status == Capture.DONE, WORKER_TIMEOUT)
    assert dict(session.attendance.values_list("student__full_name", "status")) == {"BBT Sheldon": "present"}
