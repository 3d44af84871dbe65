"""A room camera's snapshots of one lesson (issue 17): a 1080p camera at the back of a room sees
faces of ~25-30 px, too small for one snapshot to mark most students. Real worker path: the
Big Bang Theory cast enrolled with consent, a classroom camera's device token, three snapshots
of faceapi_bbt4.jpg degraded as bench/evaluate.py's room-camera scenario degrades them
(bench/classroom.py: room_snapshot, the photo's median whole face shrunk to 27-30 px, JPEG
50-90, slight blur) sent to POST /api/captures/ and recognised by the worker (eagerly, on
commit). Who each face is comes from the dataset's hand-checked labels
(group_identities.csv), matched by box overlap.

What holds: nobody is marked wrong and no stranger is marked, and each student's faces are one
person of the session across the snapshots, so their evidence is combined. What does not yet:
with the calibrated person rules nobody of this photo is marked after three snapshots (the
issue asks >= 90%; docs/recognition.md has the numbers). That the combination marks a student
no single snapshot marks, and a look-alike never, is tested on hand-made descriptors
(test_session_people.py)."""

import csv

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from bench.classroom import iou, median_whole_face, room_snapshot_file
from recognition.engine.images import load_image
from recognition.models import Capture, DetectedFace
from tests.factories import make_course, make_session, make_user
from tests.helpers import enrol_identities
from tests.web.school import BBT, BBT_GROUP_PHOTO, device_token

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SNAPSHOTS = 3


def hand_labels(dataset, photo, filename, column):
    """[(box, label)] of the photo's rows in one of the dataset's CSV files."""
    with open(dataset / filename, newline="") as handle:
        return [
            (tuple(float(row[k]) for k in ("x1", "y1", "x2", "y2")), row[column])
            for row in csv.DictReader(handle)
            if row["file"] == photo
        ]


def label_faces(capture, identities, scale):
    """{face pk: the hand-checked identity ("unknown": a stranger)} of the capture's faces that
    overlap a labelled box."""
    labels = {}
    for face in capture.faces.all():
        overlap, name = max((iou(face.box, [c * scale for c in box]), name) for box, name in identities)
        if overlap >= 0.4:
            labels[face.pk] = name
    return labels


@pytest.fixture
def room_camera(faces_dataset, eager_celery, engine):
    teacher = make_user("tess", role="Teacher", first_name="Tess", last_name="Teacher")
    course = make_course("BBT", teacher=teacher)
    cast = enrol_identities(faces_dataset, BBT, course)
    session = make_session(course, room="B12")
    _, token = device_token(room=session.room)
    return session, cast, token


def test_a_room_cameras_snapshots_mark_nobody_wrong_and_no_stranger_and_keep_each_person_together(
    client, faces_dataset, room_camera
):
    session, _, token = room_camera
    pixels = np.asarray(load_image(faces_dataset / BBT_GROUP_PHOTO))
    height, width = pixels.shape[:2]
    identities = hand_labels(faces_dataset, BBT_GROUP_PHOTO, "group_identities.csv", "identity")
    counted = hand_labels(faces_dataset, BBT_GROUP_PHOTO, "group_boxes.csv", "label")
    median = median_whole_face(counted, width, height)
    label = {}
    for view in range(SNAPSHOTS):
        snapshot = room_snapshot_file(pixels, BBT_GROUP_PHOTO, view, median)
        upload = SimpleUploadedFile(f"snap{view}.jpg", snapshot, "image/jpeg")
        response = client.post("/api/captures/", {"image": upload}, HTTP_AUTHORIZATION=f"Token {token}")
        assert response.status_code == 202, response.content
        capture = Capture.objects.get(pk=response.json()["id"])
        assert (capture.status, capture.error) == (Capture.DONE, "")
        scale = capture.width / width
        assert 27 <= median * scale <= 30  # the snapshot's median whole face, hand-labelled
        label.update(label_faces(capture, identities, scale))

        # Never a wrong student, never a stranger: from one face or from a person's faces together.
        for face in (
            DetectedFace.objects.filter(capture__session=session).exclude(student=None).select_related("student")
        ):
            assert label.get(face.pk) == face.student.full_name.replace(" ", "_"), (label.get(face.pk), face.student)

    # Each student of the photo is one person of the session across the snapshots, so their faces'
    # evidence is combined (people.mark_people_by_their_views), and asked about once.
    students = {name for name in label.values() if name != "unknown"}
    assert students == {"BBT_Raj", "BBT_Sheldon", "BBT_Bernadette"}
    for name in students:
        faces = DetectedFace.objects.filter(pk__in=[pk for pk, who in label.items() if who == name])
        assert faces.count() == SNAPSHOTS and faces.values("person").distinct().count() == 1, name
