"""Each face keeps the machine's decision: a mark (student, distance), a suggestion (suggested
student, distance: nobody marked) or unknown, with the reason; the API and the session page say
which. Real worker path on the shared dataset: in faceapi_bbt4.jpg Sheldon and Bernadette are
strong evidence, Raj's face (0.315) is just past the calibrated auto-mark distance (0.314)."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from recognition.captures import create_capture
from recognition.engine.images import load_image
from recognition.models import Capture, DetectedFace
from recognition.processing import face_engine, process_capture, recognise, save_results
from recognition.review import assign_face
from students.models import AttendanceRecord
from tests.factories import make_course, make_session, make_user
from tests.helpers import enrol_identities
from tests.web.school import BBT, BBT_GROUP_PHOTO

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def recognised(faces_dataset, engine):
    teacher = make_user("teacher", role="Teacher", first_name="Tess", last_name="Teacher")
    course = make_course("PHYS1", teacher=teacher)
    cast = enrol_identities(faces_dataset, BBT, course)
    session = make_session(course)
    photo = (faces_dataset / BBT_GROUP_PHOTO).read_bytes()
    capture = create_capture(session, SimpleUploadedFile("class.jpg", photo, "image/jpeg"))
    process_capture(capture.pk)
    return capture, cast, teacher


def test_a_suggestion_is_stored_with_its_student_distance_and_reason_and_marks_nobody(recognised):
    capture, cast, _ = recognised
    faces = DetectedFace.objects.filter(capture=capture)
    marks = faces.filter(decision=DetectedFace.MARK)
    assert {(f.student.full_name, f.reason) for f in marks} == {("BBT Sheldon", "strong"), ("BBT Bernadette", "strong")}
    assert all(f.distance is not None and f.suggested_student is None for f in marks)
    raj = faces.get(decision=DetectedFace.SUGGEST)
    assert (raj.suggested_student, raj.student, raj.distance, raj.reason) == (cast["BBT Raj"], None, None, "grey_zone")
    assert raj.suggested_distance == pytest.approx(0.315, abs=0.002)
    assert faces.filter(decision=DetectedFace.UNKNOWN, student=None, suggested_student=None).count() == 3
    marked = AttendanceRecord.objects.values_list("student__full_name", flat=True)
    assert set(marked) == {"BBT Sheldon", "BBT Bernadette"}


def test_the_api_says_marked_suggested_or_unknown_per_face(client, recognised):
    capture, cast, teacher = recognised
    client.force_login(teacher)
    faces = client.get(f"/api/captures/{capture.pk}/").json()["faces"]
    raj = cast["BBT Raj"]
    suggested = [f for f in faces if f["suggestion"]]
    assert suggested == [
        {
            "id": suggested[0]["id"],
            "box": suggested[0]["box"],
            "score": suggested[0]["score"],
            "student": None,
            "suggestion": {
                "student": {"id": raj.pk, "student_number": raj.student_number, "full_name": "BBT Raj"},
                "distance": pytest.approx(0.315, abs=0.002),
            },
            "distance": None,
            "decided_by": "auto",
            "dismissed": False,
            "rejected_students": [],
            "person": DetectedFace.objects.get(pk=suggested[0]["id"]).person_id,
        }
    ]
    marked = [f for f in faces if f["student"]]
    assert sorted(f["student"]["full_name"] for f in marked) == ["BBT Bernadette", "BBT Sheldon"]
    assert all(f["suggestion"] is None and f["distance"] is not None for f in marked)
    assert sum(f["student"] is None and f["suggestion"] is None for f in faces) == 3

    # A teacher confirms the suggestion: the face is now Raj's, by a person, and no longer a suggestion.
    assign_face(DetectedFace.objects.get(pk=suggested[0]["id"]), raj, teacher)
    face_id = suggested[0]["id"]
    confirmed = next(f for f in client.get(f"/api/captures/{capture.pk}/").json()["faces"] if f["id"] == face_id)
    assert (confirmed["student"]["full_name"], confirmed["suggestion"], confirmed["decided_by"]) == (
        "BBT Raj",
        None,
        "person",
    )
    # What the machine said stays beside the person's decision.
    assert DetectedFace.objects.get(pk=face_id).decision == DetectedFace.SUGGEST


def test_the_session_page_labels_a_suggestion_with_a_question_mark_in_its_own_style(client, recognised):
    capture, _, teacher = recognised
    client.force_login(teacher)
    html = client.get(f"/sessions/{capture.session_id}/").content.decode()
    assert '<span class="label suggested">BBT Raj?</span>' in html
    assert html.count('class="box suggested"') == 1 and html.count('class="box unknown"') == 3
    assert "perhaps BBT Raj (not marked)" in html


def test_deleting_a_suggested_student_takes_the_face_along(recognised):
    capture, cast, _ = recognised
    cast["BBT Raj"].delete()
    assert DetectedFace.objects.filter(capture=capture).count() == 5
    assert not DetectedFace.objects.filter(decision=DetectedFace.SUGGEST).exists()


def test_save_results_returns_what_it_stored_and_nothing_when_another_delivery_did(faces_dataset, engine):
    course = make_course("PHYS1")
    enrol_identities(faces_dataset, ["BBT_Sheldon"], course, photos_each=3)
    photo = (faces_dataset / BBT_GROUP_PHOTO).read_bytes()
    capture = create_capture(make_session(course), SimpleUploadedFile("class.jpg", photo, "image/jpeg"))
    # As process_capture does before it recognises the photo.
    Capture.objects.filter(pk=capture.pk).update(status=Capture.PROCESSING, started_at=timezone.now())
    capture.refresh_from_db()
    with capture.image.open("rb") as handle:
        image = load_image(handle)
    result = recognise(image, [s.pk for s in course.students.all()], face_engine(), with_crops=True)

    stored = save_results(capture, result)
    in_the_database = DetectedFace.objects.filter(capture=capture).values_list("pk", flat=True)
    assert [face.pk for face in stored] == sorted(in_the_database)
    assert len(stored) == len(result.faces) == 6
    assert save_results(capture, result) is None
    assert DetectedFace.objects.filter(capture=capture).count() == 6
    # Each face keeps the quality its size band was picked by, for deciding it with the same
    # person's other faces later (match.decide_people).
    rules = face_engine().calibration
    for face, quality in zip(stored, result.qualities, strict=True):
        kept = DetectedFace.objects.get(pk=face.pk).quality()
        assert kept.sharpness == quality.sharpness
        assert kept.size_px == pytest.approx(quality.size_px, abs=1.0) and kept.yaw == pytest.approx(
            quality.yaw, abs=0.02
        )
        assert rules.band_of(kept) is rules.band_of(quality)
    # A face stored before its sharpness was kept counts as blurred: never marked on its own.
    old = DetectedFace(x1=0, y1=0, x2=90, y2=90, landmarks=[[30, 40], [60, 40], [45, 55], [33, 70], [57, 70]])
    assert old.quality().sharpness == 0.0 and old.quality().sharpness < rules.band_of(old.quality()).point.min_sharpness


def test_the_admin_shows_each_faces_decision(client, recognised):
    capture, _, _ = recognised
    client.force_login(make_user("boss", is_staff=True, is_superuser=True))
    page = client.get(f"/admin/recognition/capture/{capture.pk}/change/").content.decode()
    decisions = re.findall(r'<td class="field-decision">\s*<p>(\w+)</p>', page)
    reasons = re.findall(r'<td class="field-reason">\s*<p>(\w+)</p>', page)
    assert (decisions.count("Marked"), decisions.count("Suggested")) == (2, 1)
    assert reasons.count("grey_zone") == 1 and reasons.count("strong") == 2
