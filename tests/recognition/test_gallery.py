"""The school gallery of a worker process: every recognisable student of the school (accepted
photos of the active model, consent recorded, active), kept in memory and read again only when
its fingerprint changes; the rival check of decide() sees it whole. Real database, real models,
real photos of the shared dataset; a large school is made of real rows with made-up vectors."""

import dataclasses

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from recognition.captures import create_capture
from recognition.engine.match import Calibration
from recognition.enrolment import add_enrolment_photo
from recognition.enrolment_review import approve_held_photos
from recognition.models import Capture, DetectedFace, FaceEmbedding, FacePhoto
from recognition.processing import embed_missing_photos, process_capture, school_gallery
from recognition.tasks import embed_missing_enrolment_photos, requeue_waiting_captures
from students.consent import record_consent
from students.models import Student
from tests.factories import make_course, make_session, make_student, make_user
from tests.helpers import enrol_identities

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

GROUP_PHOTO = "group/faceapi_bbt4.jpg"  # Sheldon, Raj, Bernadette and three people outside the set


def consenting(number, name):
    student = make_student(number, name)
    record_consent(Student.objects.filter(pk=student.pk), None, "test")
    return student


def enrol_photos(student, paths):
    for path in paths:
        add_enrolment_photo(student, path.read_bytes(), source=FacePhoto.IMPORT)


def capture_of(session, faces_dataset, name=GROUP_PHOTO):
    photo = (faces_dataset / name).read_bytes()
    return create_capture(session, SimpleUploadedFile("class.jpg", photo, "image/jpeg"))


def current_gallery(engine):
    return school_gallery.current(engine.embedder.name, engine.calibration.gallery_sizes)


def gallery_students(engine):
    return set(current_gallery(engine).students)


def test_a_face_as_near_to_a_student_of_another_course_is_not_marked(faces_dataset, engine):
    """Sheldon is enrolled twice, in two courses (a twin, or a duplicate record: a lookalike at
    its most extreme). In PHYS1 alone his face is strong evidence; with the school's other
    Sheldon nearly as near, it is a suggestion that marks nobody."""
    photos = sorted((faces_dataset / "identities" / "BBT_Sheldon").iterdir())
    sheldon, twin = consenting("S1", "Sheldon Cooper"), consenting("S2", "Sheldon's twin")
    enrol_photos(sheldon, photos[:3])
    enrol_photos(twin, photos[3:])
    physics = make_course("PHYS1", students=[sheldon])
    make_course("ART1", students=[twin])
    embed_missing_photos(Student.objects.all(), engine)
    # The twin's photos look like Sheldon, so they wait at the door; an admin lets them in.
    assert set(twin.face_photos.values_list("status", flat=True)) == {FacePhoto.HELD}
    approve_held_photos(twin.face_photos.all(), make_user("head", role="Admin", is_staff=True, is_superuser=True))
    session = make_session(physics)

    process_capture(capture_of(session, faces_dataset).pk)

    face = DetectedFace.objects.get(suggested_student=sheldon)
    assert (face.decision, face.reason, face.student) == (DetectedFace.SUGGEST, "near_other_course", None)
    assert not session.attendance.exists()
    # Without the twin in the school his face marks him: the rival made the difference.
    twin.delete()
    session = make_session(physics)
    process_capture(capture_of(session, faces_dataset).pk)
    assert DetectedFace.objects.get(capture__session=session, student=sheldon).decision == DetectedFace.MARK
    assert list(session.attendance.values_list("student__full_name", flat=True)) == ["Sheldon Cooper"]


def test_the_gallery_is_the_recognisable_students_and_follows_every_change(faces_dataset, engine):
    raj_photos = sorted((faces_dataset / "identities" / "BBT_Raj").iterdir())
    raj, howard = consenting("S1", "Raj"), consenting("S2", "Howard")
    enrol_photos(raj, raj_photos[:2])
    enrol_photos(howard, sorted((faces_dataset / "identities" / "BBT_Howard").iterdir())[:1])
    no_consent = make_student("S3", "Not yet")
    enrol_photos(no_consent, sorted((faces_dataset / "identities" / "BBT_Stuart").iterdir())[:1])
    embed_missing_photos(Student.objects.all(), engine)
    assert gallery_students(engine) == {raj.pk, howard.pk}
    assert len(current_gallery(engine)) == 3

    new_photo, _ = add_enrolment_photo(raj, raj_photos[2].read_bytes(), source=FacePhoto.ADMIN)
    embed_missing_photos(Student.objects.filter(pk=raj.pk), engine)
    assert len(current_gallery(engine)) == 4
    new_photo.delete()
    assert len(current_gallery(engine)) == 3

    Student.objects.filter(pk=howard.pk).update(is_active=False)
    assert gallery_students(engine) == {raj.pk}
    Student.objects.filter(pk=howard.pk).update(is_active=True)
    assert gallery_students(engine) == {raj.pk, howard.pk}
    FacePhoto.objects.filter(student=howard).update(status=FacePhoto.REJECTED)
    assert gallery_students(engine) == {raj.pk}
    record_consent(Student.objects.filter(pk=no_consent.pk), None, "guardian")
    embed_missing_photos(Student.objects.filter(pk=no_consent.pk), engine)
    assert gallery_students(engine) == {raj.pk, no_consent.pk}


def add_school(size, model_name, dim, seed):
    """`size` consenting students of other courses, one accepted photo each, with random unit
    vectors (far from every real face: random directions in 128 dimensions are ~1.4 apart)."""
    rng = np.random.default_rng(seed)
    other = make_course(f"OTHER{seed}")
    for n in range(size):
        student = make_student(f"X{seed}-{n}", f"Student {seed}-{n}")
        other.students.add(student)
        photo = FacePhoto.objects.create(student=student, image="enrolment/x.jpg", status=FacePhoto.ACCEPTED)
        vector = rng.normal(size=dim).astype("float32")
        vector /= np.linalg.norm(vector)
        FaceEmbedding.objects.create(photo=photo, model_name=model_name, vector=vector.tobytes())
    Student.objects.filter(student_number__startswith=f"X{seed}-").update(consent_recorded_at=timezone.now())


def queries_of_a_capture(session, faces_dataset):
    capture = capture_of(session, faces_dataset)
    with CaptureQueriesContext(connection) as queries:
        process_capture(capture.pk)
    assert Capture.objects.get(pk=capture.pk).status == Capture.DONE
    return [query["sql"] for query in queries.captured_queries]


def test_the_queries_of_a_capture_do_not_grow_with_the_school(faces_dataset, engine):
    model = engine.embedder.name
    course = make_course("PHYS1")
    enrol_identities(faces_dataset, ["BBT_Sheldon", "BBT_Raj", "BBT_Bernadette"], course, photos_each=2)
    embed_missing_photos(Student.objects.all(), engine)
    session = make_session(course)
    dim = len(FaceEmbedding.objects.first().as_array())

    add_school(20, model, dim, seed=1)
    queries_of_a_capture(session, faces_dataset)  # reads the changed gallery once
    small = queries_of_a_capture(session, faces_dataset)
    add_school(400, model, dim, seed=2)
    reloaded = queries_of_a_capture(session, faces_dataset)
    large = queries_of_a_capture(session, faces_dataset)

    assert len(large) == len(small), "\n".join(large)
    # The vectors are read again once after the school changed, never for a capture otherwise.
    reads_vectors = [sql for sql in reloaded if '"vector"' in sql]
    assert len(reads_vectors) == 1 and len(reloaded) == len(small) + 1
    assert not any('"vector"' in sql for sql in small + large)
    assert len(current_gallery(engine).students) == 3 + 20 + 400
    assert set(session.attendance.values_list("student__full_name", flat=True)) == {"BBT Sheldon", "BBT Bernadette"}


def test_a_capture_before_its_students_photos_are_embedded_embeds_them_itself(faces_dataset, engine):
    """Photos are queued for embedding after the commit; here no task runs (a worker still
    busy, or a lost message): the capture embeds what its roster lacks, and is right."""
    course = make_course("PHYS1")
    cast = enrol_identities(faces_dataset, ["BBT_Sheldon", "BBT_Bernadette"], course, photos_each=3)
    assert not FaceEmbedding.objects.exists()
    session = make_session(course)

    process_capture(capture_of(session, faces_dataset).pk)

    assert set(session.attendance.values_list("student__full_name", flat=True)) == set(cast)
    assert embedded_sizes() == {photo.pk: engine.calibration.gallery_sizes for photo in FacePhoto.objects.all()}
    assert len(engine.calibration.gallery_sizes) > 1


def embedded_sizes(model_name=None):
    """{photo id: the face sizes it has a vector at}."""
    rows = FaceEmbedding.objects.filter(**({"model_name": model_name} if model_name else {}))
    sizes = {}
    for photo, size in rows.order_by("size_px").values_list("photo_id", "size_px"):
        sizes[photo] = sizes.get(photo, ()) + (size,)
    return sizes


def test_a_calibration_with_another_size_band_embeds_the_photos_at_its_size(faces_dataset, engine):
    """The index is keyed by model and face size: rules that compare small faces with photos
    shrunk to a size nobody was embedded at find every photo missing it, and the gallery then
    holds it; the rows at the other sizes are kept."""
    enrol_identities(faces_dataset, ["BBT_Sheldon", "BBT_Raj"], make_course("PHYS1"), photos_each=2)
    embed_missing_photos(Student.objects.all(), engine)
    before = {row.pk: row.created_at for row in FaceEmbedding.objects.all()}
    smallest = engine.calibration.bands[-1]
    banded = Calibration((*engine.calibration.bands, dataclasses.replace(smallest, gallery_px=20)))
    rebanded = dataclasses.replace(engine, calibration=banded)

    assert embed_missing_photos(Student.objects.all(), rebanded) == 4
    assert set(embedded_sizes().values()) == {banded.gallery_sizes}
    assert {row.pk: row.created_at for row in FaceEmbedding.objects.exclude(size_px=20)} == before
    gallery = current_gallery(rebanded)
    assert len(gallery.at(20)) == len(gallery) == 4 and not np.allclose(gallery.at(20).embeddings, gallery.embeddings)
    assert embed_missing_photos(Student.objects.all(), rebanded) == 0


def test_a_starting_worker_embeds_every_photo_missing_for_the_active_model(faces_dataset, engine, eager_celery):
    """After a model change every accepted photo lacks a vector of the new model: a worker
    that starts brings the whole school's index up to date, in a task of its own."""
    cast = enrol_identities(faces_dataset, ["BBT_Sheldon", "BBT_Raj"], make_course("PHYS1"), photos_each=2)
    waiting = make_student("S9", "No consent yet")
    enrol_photos(waiting, sorted((faces_dataset / "identities" / "BBT_Stuart").iterdir())[:1])
    FacePhoto.objects.filter(student__in=cast.values()).update(status=FacePhoto.ACCEPTED)  # embedded by an older model
    assert embed_missing_enrolment_photos() == 4

    FaceEmbedding.objects.all().delete()
    requeue_waiting_captures()
    assert set(embedded_sizes(engine.embedder.name).values()) == {engine.calibration.gallery_sizes}
    assert len(embedded_sizes(engine.embedder.name)) == 4
    assert FacePhoto.objects.get(student=waiting).status == FacePhoto.PENDING
