"""One person per session (recognition/people.py): the faces of a session's captures that are
one person are kept together as the worker saves each capture, a teacher's decision about a
person holds for its later faces, and "Who is this?" reads the people without grouping anything.

These tests give the worker's save_results a recognition result built by hand (descriptors near
a few made-up people, the machine's decisions as match.decide would make them): they test what
the worker does with a result, not the face models. tests/recognition/test_one_question.py runs
the real models on real photos.
"""

import threading
import time
from datetime import timedelta
from importlib import import_module

import numpy as np
import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from recognition import people as people_module
from recognition.engine.calibration import calibration
from recognition.engine.match import MARK, SUGGEST, UNKNOWN, FaceDecision, decide
from recognition.engine.pipeline import FaceResult, PhotoFaces
from recognition.engine.quality import FaceQuality
from recognition.models import Capture, DetectedFace, FaceEmbedding, FacePhoto, SessionPerson
from recognition.people import person_evidence
from recognition.processing import Recognition, save_results, school_gallery
from students.attendance import set_status
from students.models import AttendanceRecord, Student
from tests.helpers import photo_jpeg

EMBEDDER = "dlib_resnet_v1_flip"  # calibrated: its grouping distance is its mark distance, 0.313


def unit(vector):
    vector = np.asarray(vector, dtype=np.float64)
    return vector / np.linalg.norm(vector)


def near(person, distance, seed):
    """A unit vector at this Euclidean distance from the person's (a new view of them)."""
    other = unit(np.random.default_rng([seed, 99]).normal(size=len(person)))
    other = unit(other - other @ person * person)
    angle = 2 * np.arcsin(distance / 2)
    return unit(np.cos(angle) * person + np.sin(angle) * other)


# Made-up people: random directions in 128 dimensions are ~1.4 apart, far beyond any rule.
ANN, BEN, CAL = (unit(np.random.default_rng(seed).normal(size=128)) for seed in (1, 2, 3))


def face(vector, kind=UNKNOWN, student=None, distance=None, x=0, size=80):
    """One face of a hand-made result: its descriptor and the machine's decision about it."""
    return vector, FaceDecision(kind, student, distance, None, None, None, 5, "by hand"), (x, size)


def snapshot(session, faces, seconds_ago=60):
    """A capture of the session saved by the worker's save_results, from a hand-made result."""
    now = timezone.now()
    capture = Capture(
        session=session,
        source=Capture.CAMERA,
        taken_at=now - timedelta(seconds=seconds_ago),
        status=Capture.PROCESSING,
        started_at=now,
    )
    capture.image.save("snap.jpg", ContentFile(photo_jpeg()), save=False)
    capture.width, capture.height = 640, 480
    capture.save()
    results = PhotoFaces(
        [
            FaceResult((x, 100, x + size, 100 + size), 0.99, np.zeros((5, 2)), np.asarray(vector, dtype=np.float32))
            for vector, _, (x, size) in faces
        ]
    )
    decisions = [decision for _, decision, _ in faces]
    crops = [ContentFile(photo_jpeg((40, 40)), name="face.jpg") for _ in faces]
    qualities = [FaceQuality(size, 300.0, 0.1) for _, _, (_, size) in faces]
    save_results(capture, Recognition(results, qualities, decisions, crops, EMBEDDER, 1.0))
    capture.refresh_from_db()
    assert capture.status == Capture.DONE
    return capture


def only(capture):
    return capture.faces.get()


def asked_api(client, session):
    response = client.get(f"/api/sessions/{session.pk}/unknown-people/")
    assert response.status_code == 200
    return response.json()


def asked_page(client, session):
    return client.get(f"/sessions/{session.pk}/").content.decode().count('class="person"')


def record_of(session, student):
    return AttendanceRecord.objects.filter(session=session, student=student).first()


def test_a_person_seen_in_several_snapshots_is_one_question_with_their_running_mean(client, school):
    session = school.session
    views = [(near(ANN, 0.12, seed), near(BEN, 0.12, seed + 50)) for seed in range(4)]
    captures = [snapshot(session, [face(ann, x=0), face(ben, x=200)]) for ann, ben in views]

    people = SessionPerson.objects.filter(session=session)
    assert sorted(person.face_count for person in people) == [4, 4]
    ann = only_person_of(captures[0].faces.get(x1=0))
    assert {ann.pk} == {only_person_of(capture.faces.get(x1=0)).pk for capture in captures}
    evidence = person_evidence(ann)
    assert evidence.count == 4 and evidence.sizes == [80] * 4 and evidence.sharpness == [300.0] * 4
    assert np.allclose(evidence.mean, np.mean([view[0] for view in views], axis=0), atol=1e-6)

    client.force_login(school.teacher)
    listed = asked_api(client, session)
    assert [person["face_count"] for person in listed] == [4, 4]
    assert listed[0]["captures"] == [capture.pk for capture in captures]
    assert asked_page(client, session) == 2


def only_person_of(face):
    face.refresh_from_db()
    return face.person


def test_two_faces_of_one_snapshot_are_never_one_person(school):
    session = school.session
    first = snapshot(session, [face(near(ANN, 0.1, 1))])
    # Both faces are near Ann: the nearer joins her, the other is someone else.
    second = snapshot(session, [face(near(ANN, 0.05, 2), x=0), face(near(ANN, 0.12, 3), x=200)])
    assert second.faces.get(x1=0).person_id == only(first).person_id
    assert second.faces.get(x1=200).person_id != only(first).person_id


def test_a_chain_of_faces_does_not_join_two_people(school):
    session = school.session
    start = near(ANN, 0.0, 1)
    step = unit(start + 0.22 * unit(np.random.default_rng(9).normal(size=128)))
    further = unit(start + 0.44 * (step - start) / np.linalg.norm(step - start))
    assert np.linalg.norm(start - step) < 0.313 < np.linalg.norm(start - further)
    first, second = snapshot(session, [face(start)]), snapshot(session, [face(step)])
    third = snapshot(session, [face(further)])
    assert only(first).person_id == only(second).person_id != only(third).person_id


def test_not_one_of_my_students_holds_for_the_persons_later_snapshots(client, school):
    session = school.session
    first = snapshot(session, [face(near(CAL, 0.1, 1))])
    client.force_login(school.teacher)
    assert len(asked_api(client, session)) == 1
    response = client.post(f"/api/faces/{only(first).pk}/dismiss/", {}, content_type="application/json")
    assert response.status_code == 200

    later = snapshot(session, [face(near(CAL, 0.1, 2))])

    assert only(later).dismissed and only(later).person_id == only(first).person_id
    assert (only(later).decided_by, only(later).decided_by_user) == (DetectedFace.PERSON, school.teacher)
    assert asked_api(client, session) == [] and asked_page(client, session) == 0
    page = client.get(f"/sessions/{session.pk}/?photo={first.pk}").content.decode()
    assert page.count("Not one of the course's students") == 2


def test_a_named_person_is_the_student_in_later_snapshots_without_a_question(client, school):
    session = school.session
    first = snapshot(session, [face(near(ANN, 0.1, 1), SUGGEST, school.ada.pk, 0.33)], seconds_ago=120)
    client.force_login(school.teacher)
    client.post(f"/faces/{only(first).pk}/confirm/")
    record = record_of(session, school.ada)
    assert (record.source, record.first_seen_at) == (AttendanceRecord.FACE, first.taken_at)

    later = snapshot(session, [face(near(ANN, 0.1, 2))], seconds_ago=60)  # nobody, to the machine

    assert (only(later).student, only(later).decided_by) == (school.ada, DetectedFace.PERSON)
    assert asked_api(client, session) == []
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "Yes, Ada Lovelace" not in page and ">Who is this?<" not in page
    record.refresh_from_db()
    assert (record.source, record.first_seen_at, record.marked_by) == ("face", first.taken_at, school.teacher)


def test_not_the_student_holds_for_the_persons_later_faces_even_a_machine_mark(client, school):
    session = school.session
    first = snapshot(session, [face(near(BEN, 0.1, 1), MARK, school.bob.pk, 0.25)])
    assert record_of(session, school.bob) is not None
    client.force_login(school.teacher)
    client.post(f"/faces/{only(first).pk}/reject/")
    assert record_of(session, school.bob) is None

    later = snapshot(session, [face(near(BEN, 0.1, 2), MARK, school.bob.pk, 0.25)])

    # The same mark again: the teacher said this person is not Bob, so it is not.
    assert only(later).person_id == only(first).person_id
    assert only(later).student is None and list(only(later).rejected_students.all()) == [school.bob]
    assert record_of(session, school.bob) is None
    # Still nobody: one question, about both faces.
    listed = asked_api(client, session)
    assert len(listed) == 1 and listed[0]["face_count"] == 2 and listed[0]["suggestion"] is None


def test_a_face_suggested_as_a_student_already_seen_is_not_a_question(client, school):
    session = school.session
    snapshot(session, [face(near(ANN, 0.1, 1), MARK, school.ada.pk, 0.25)])
    # Someone far from Ann's face, whom the machine takes for perhaps Ada: she is already seen.
    later = snapshot(session, [face(near(BEN, 0.1, 2), SUGGEST, school.ada.pk, 0.34)])
    assert only(later).suggested_student == school.ada
    client.force_login(school.teacher)
    assert asked_api(client, session) == []
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "Ada Lovelace is already seen in this session, so it is not asked" in page
    assert "Yes, Ada Lovelace" not in page


def test_a_mark_another_person_supports_stays_when_one_person_is_not_the_student(client, school):
    session = school.session
    first = snapshot(session, [face(near(ANN, 0.1, 1), MARK, school.ada.pk, 0.25)], seconds_ago=120)
    other = snapshot(session, [face(near(BEN, 0.1, 2), MARK, school.ada.pk, 0.3)], seconds_ago=60)
    assert only(first).person_id != only(other).person_id
    client.force_login(school.teacher)
    client.post(f"/faces/{only(first).pk}/reject/")
    record = record_of(session, school.ada)
    assert (record.first_seen_at, record.source) == (other.taken_at, "camera")
    assert only(other).student == school.ada


def test_removing_a_snapshot_takes_its_faces_out_of_their_people(client, school):
    session = school.session
    views = [near(ANN, 0.1, seed) for seed in range(3)]
    captures = [snapshot(session, [face(view, x=0)]) for view in views[:2]]
    alone = snapshot(session, [face(views[2], x=0), face(near(CAL, 0.1, 7), x=200)])
    ann = only_person_of(only(captures[0]))
    cal = only_person_of(alone.faces.get(x1=200))
    client.force_login(school.teacher)

    assert client.delete(f"/api/captures/{alone.pk}/").status_code == 204

    ann.refresh_from_db()
    assert ann.face_count == 2 and np.allclose(person_evidence(ann).mean, np.mean(views[:2], axis=0), atol=1e-6)
    assert not SessionPerson.objects.filter(pk=cal.pk).exists()


def test_reading_the_people_costs_the_same_queries_however_many_snapshots(client, school):
    """Nothing is grouped on read: the page and the API run a fixed number of queries."""
    session = school.session
    client.force_login(school.teacher)

    def queries():
        counts = []
        for url in (f"/api/sessions/{session.pk}/unknown-people/", f"/sessions/{session.pk}/"):
            with CaptureQueriesContext(connection) as context:
                assert client.get(url).status_code == 200
            counts.append(len(context))
        return counts

    for seed in range(3):
        snapshot(session, [face(near(ANN, 0.1, seed), x=0), face(near(BEN, 0.1, seed + 9), x=200)])
    few = queries()
    for seed in range(3, 12):
        snapshot(session, [face(near(ANN, 0.1, seed), x=0), face(near(BEN, 0.1, seed + 9), x=200)])
    assert queries() == few


def test_earlier_photos_are_lines_until_opened(client, school):
    session = school.session
    first = snapshot(session, [face(near(ANN, 0.1, 1))], seconds_ago=120)
    latest = snapshot(session, [face(near(BEN, 0.1, 2))], seconds_ago=60)
    client.force_login(school.teacher)
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert f'id="face-{only(latest).pk}"' in page and f'id="face-{only(first).pk}"' not in page
    assert f'href="?photo={first.pk}#capture-{first.pk}"' in page
    opened = client.get(f"/sessions/{session.pk}/?photo={first.pk}").content.decode()
    assert f'id="face-{only(first).pk}"' in opened and f'id="capture-{first.pk}" data-capture-id' in opened
    part = client.get(f"/sessions/{session.pk}/parts/?capture={first.pk}&open={first.pk}").json()
    assert f'id="face-{only(first).pk}"' in part["capture"][str(first.pk)]


def test_the_session_parts_are_the_pages_own_and_for_its_teachers_only(client, school):
    session = school.session
    capture = snapshot(session, [face(near(ANN, 0.1, 1))])
    client.force_login(school.teacher)
    url = f"/sessions/{session.pk}/parts/?part=roster&part=people&capture={capture.pk}"
    parts = client.get(url).json()
    assert set(parts) == {"roster", "not_seen", "people", "capture"}
    assert parts["people"].startswith('<div id="who-is-this-part">') and 'class="person"' in parts["people"]
    assert f'data-capture-id="{capture.pk}"' in parts["capture"][str(capture.pk)]
    assert "csrfmiddlewaretoken" in parts["capture"][str(capture.pk)]  # its forms work
    assert "Ada Lovelace" in parts["roster"] and parts["not_seen"].startswith('<p id="not-seen">3 students')
    client.force_login(school.other_teacher)
    assert client.get(url).status_code == 404


def test_a_photo_whose_faces_are_mostly_tiny_says_so(client, school):
    session = school.session
    advice = "Most faces are under 30 px: move closer or use a higher resolution."
    snapshot(session, [face(near(ANN, 0.1, 1), x=0, size=24), face(near(BEN, 0.1, 2), x=100, size=26)])
    client.force_login(school.teacher)
    assert advice in client.get(f"/sessions/{session.pk}/").content.decode()
    later = snapshot(session, [face(near(ANN, 0.1, 3), x=0, size=24), face(near(BEN, 0.1, 4), x=100, size=60)])
    assert advice not in client.get(f"/sessions/{session.pk}/").content.decode()  # half is not most
    page = client.get(f"/sessions/{session.pk}/?photo={later.pk - 1}").content.decode()
    assert page.count(advice) == 1 and "faces too small" in page  # the earlier photo, opened; and its line
    assert "640 × 480 px" in page


def test_faces_stored_before_people_were_kept_are_placed_as_the_worker_would(school):
    """The data migration: existing faces join people capture by capture, but only where the
    decisions already made about them agree, so no face changes."""
    session = school.session
    taken = [
        snapshot(session, [face(near(ANN, 0.1, seed), x=0), face(near(BEN, 0.1, seed + 5), x=200)])
        for seed in (1, 2, 3)
    ]
    third_ben = taken[2].faces.get(x1=200)
    DetectedFace.objects.filter(pk=third_ben.pk).update(dismissed=True, decided_by=DetectedFace.PERSON)
    DetectedFace.objects.update(person=None)
    SessionPerson.objects.all().delete()

    import_module("recognition.migrations.0010_session_people").place_existing_faces(apps, None)

    ann = {capture.faces.get(x1=0).person_id for capture in taken}
    ben = [capture.faces.get(x1=200).person_id for capture in taken]
    assert len(ann) == 1 and ben[0] == ben[1] != ben[2]
    dismissed = SessionPerson.objects.get(pk=ben[2])
    assert dismissed.dismissed and dismissed.face_count == 1
    assert SessionPerson.objects.get(pk=ben[0]).face_count == 2 and not SessionPerson.objects.get(pk=ben[0]).dismissed


@pytest.mark.django_db(transaction=True)
def test_two_snapshots_saved_at_once_wait_for_each_other_and_make_one_person(school, monkeypatch):
    """Two workers saving snapshots of one session at the same moment: the second waits for the
    first's people (the session is locked) instead of starting a second person for someone new
    to both (Cal), or writing over the first's sum for someone already known (Ann). The first is
    held while it places its faces, so that the second surely arrives then."""
    session = school.session
    placing, place = threading.Event(), people_module.place_faces

    def slow_place(*args, **kwargs):
        placing.set()
        time.sleep(1.0)
        return place(*args, **kwargs)

    snapshot(session, [face(near(ANN, 0.1, 0))])  # Ann is a person of the session already
    monkeypatch.setattr(people_module, "place_faces", slow_place)
    errors = []

    def save(seed):
        try:
            snapshot(session, [face(near(ANN, 0.1, seed), x=0), face(near(CAL, 0.1, seed), x=200)])
        except Exception as error:  # noqa: BLE001 (reported by the assertion below)
            errors.append(error)
        finally:
            connection.close()

    first = threading.Thread(target=save, args=(1,))
    first.start()
    assert placing.wait(30)
    second = threading.Thread(target=save, args=(2,))
    second.start()
    first.join(60)
    second.join(60)

    assert errors == []
    assert list(SessionPerson.objects.filter(session=session).values_list("face_count", flat=True)) == [3, 2]


# --- A person's faces decided together (people.mark_people_by_their_views) --------------------------
# Hand-made descriptors again, now with a hand-made gallery of the same embedder: what the worker
# does with several faces of one person, under the calibrated rules. The real models on real
# photos: tests/recognition/test_room_camera.py.


def enrol_vectors(student, vectors):
    """Accepted enrolment photos of the consenting student with these (made-up) descriptors."""
    Student.objects.filter(pk=student.pk).update(consent_recorded_at=timezone.now())
    for vector in vectors:
        photo = FacePhoto.objects.create(student=student, image="enrolment/x.jpg", status=FacePhoto.ACCEPTED)
        FaceEmbedding.objects.create(photo=photo, model_name=EMBEDDER, vector=np.float32(vector).tobytes())


def decided_snapshot(session, vectors, seconds_ago=60):
    """A snapshot whose faces (80 px, sharp, frontal) the engine decided one by one, as the
    worker does, against the school's gallery; returns it and those decisions."""
    rules = calibration(EMBEDDER)
    gallery = school_gallery.current(EMBEDDER, rules.gallery_sizes)
    roster = list(session.course.students.values_list("pk", flat=True))
    decisions = decide(vectors, gallery, roster, [FaceQuality(80, 300.0, 0.1)] * len(vectors), rules)
    faces = [(vector, decision, (200 * k, 80)) for k, (vector, decision) in enumerate(zip(vectors, decisions))]
    return snapshot(session, faces, seconds_ago), decisions


# Ada's three enrolment photos; in the classroom she looks a little different from all of them
# (ADA_IN_CLASS), and each snapshot adds its own noise: no single face is near enough to mark
# her, their mean is. A look-alike sits as far from her photos as one snapshot of her does.
ADA = unit(np.random.default_rng(4).normal(size=128))
ADA_PHOTOS = [near(ADA, 0.12, seed) for seed in (41, 42, 43)]
ADA_IN_CLASS = near(ADA, 0.22, 44)
LOOK_ALIKE = near(ADA, 0.30, 45)


def room_views(seeds, who=ADA_IN_CLASS, noise=0.2):
    return [near(who, noise, seed) for seed in seeds]


@pytest.fixture
def ada_enrolled(school):
    enrol_vectors(school.ada, ADA_PHOTOS)
    return school


def test_snapshots_no_single_one_of_which_marks_a_student_mark_them_together(client, ada_enrolled):
    school = ada_enrolled
    session = school.session
    taken = []
    for n, view in enumerate(room_views((1, 2, 3))):
        capture, (decision,) = decided_snapshot(session, [view], seconds_ago=300 - 60 * n)
        assert decision.kind == SUGGEST and decision.student == school.ada.pk  # never a mark on its own
        taken.append(capture)
        if n == 0:
            assert record_of(session, school.ada) is None

    faces = [only(capture) for capture in taken]
    assert len({face.person_id for face in faces}) == 1
    assert all((face.student, face.reason, face.decided_by) == (school.ada, "several_views", "auto") for face in faces)
    record = record_of(session, school.ada)
    assert (record.source, record.first_seen_at) == (AttendanceRecord.CAMERA, taken[0].taken_at)
    client.force_login(school.teacher)
    assert asked_api(client, session) == []


def test_a_look_alike_is_not_marked_however_many_snapshots_arrive(client, ada_enrolled):
    school = ada_enrolled
    session = school.session
    for seed in range(10):
        capture, (decision,) = decided_snapshot(session, room_views([seed], LOOK_ALIKE, 0.1))
        assert decision.kind == SUGGEST and decision.student == school.ada.pk
    person = only_person_of(only(capture))
    assert person.face_count == 10 and not person.faces.exclude(student=None).exists()
    assert record_of(session, school.ada) is None


@pytest.mark.parametrize("decision", ["dismiss", "reject"])
def test_a_teachers_no_holds_against_the_persons_snapshots_together(client, ada_enrolled, decision):
    """ "Not one of my students" or "not Ada" about the person's first face: its later faces,
    which together would mark Ada, do not."""
    school = ada_enrolled
    session = school.session
    views = room_views((1, 2, 3))
    first, _ = decided_snapshot(session, views[:1], seconds_ago=300)
    client.force_login(school.teacher)
    assert (
        client.post(f"/api/faces/{only(first).pk}/{decision}/", {}, content_type="application/json").status_code == 200
    )

    later = [decided_snapshot(session, [view])[0] for view in views[1:]]

    assert {only(capture).person_id for capture in later} == {only(first).person_id}
    assert DetectedFace.objects.filter(capture__session=session).exclude(student=None).count() == 0
    assert record_of(session, school.ada) is None


def test_a_teachers_absent_stays_when_the_snapshots_together_mark_the_student(client, ada_enrolled):
    school = ada_enrolled
    session = school.session
    set_status(session, school.ada, AttendanceRecord.ABSENT, school.teacher, "Phoned in sick")
    taken = [decided_snapshot(session, [view])[0] for view in room_views((1, 2, 3))]
    assert only(taken[-1]).student == school.ada
    record = record_of(session, school.ada)
    assert (record.status, record.source, record.marked_by) == ("absent", AttendanceRecord.MANUAL, school.teacher)
