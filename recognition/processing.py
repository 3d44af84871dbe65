"""The worker's side of the pipeline: load the engine once per process, keep enrolment
embeddings current for the active model, and turn a capture into faces and attendance.

The engine itself (recognition/engine) knows nothing of Django; this module is the glue that
the Celery tasks and `manage.py recognize` share.
"""
import io
import logging
import time
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from students.attendance import mark_seen
from students.models import Student

from .engine.detect import FaceDetector
from .engine.embedders import load_embedder
from .engine.images import load_image
from .engine.calibration import operating_point
from .engine.match import UNKNOWN, Gallery, OperatingPoint, decide
from .engine.pipeline import EnrolmentRejected, analyse_photo, embed_enrolment_photo, face_crop
from .engine.quality import face_qualities
from .engine.threads import configure_threads
from .enrolment_review import admit_enrolment_photo
from .models import Capture, DetectedFace, FaceEmbedding, FacePhoto

log = logging.getLogger(__name__)

NO_CONSENT_REASON = "Waiting for consent: record the student's (or guardian's) consent in the admin first."


@dataclass(frozen=True)
class FaceEngine:
    detector: FaceDetector
    embedder: object
    operating_point: OperatingPoint


@lru_cache(maxsize=1)
def face_engine():
    """The detector and embedder of this process, loaded once: the models take seconds to load."""
    configure_threads(settings.FACE_TORCH_THREADS)
    embedder = load_embedder(
        settings.FACE_EMBEDDER, facenet_weights=settings.FACENET_WEIGHTS,
        threshold_set=settings.FACE_MATCH_THRESHOLD is not None,
    )
    point = operating_point(embedder.name, settings.FACE_MATCH_THRESHOLD)
    log.info("Face embedder: %s, operating point %s", embedder.name, point)
    return FaceEngine(FaceDetector(), embedder, point)


def embed_photo(photo, engine):
    """Embed one enrolment photo with the active model, or record why it cannot be used."""
    if not photo.student.has_consent:
        FacePhoto.objects.filter(pk=photo.pk).update(status=FacePhoto.PENDING, rejection_reason=NO_CONSENT_REASON)
        return None
    with photo.image.open("rb") as handle:
        image = load_image(handle)
    try:
        vector = embed_enrolment_photo(image, engine.detector, engine.embedder)
    except EnrolmentRejected as rejection:
        FacePhoto.objects.filter(pk=photo.pk).update(status=FacePhoto.REJECTED, rejection_reason=str(rejection))
        return None
    # Accepted, or held for a school admin: the one door into a student's gallery.
    admit_enrolment_photo(photo, engine.embedder.name, vector, engine.operating_point)
    return vector


def embed_missing_photos(students, engine):
    """Embed every usable enrolment photo of these students that has no vector for the active
    model yet: after a model change the index rebuilds itself from the photos."""
    missing = (
        FacePhoto.objects.filter(student__in=students)
        .exclude(status=FacePhoto.REJECTED)
        .exclude(embeddings__model_name=engine.embedder.name)
        .select_related("student")
    )
    return sum(embed_photo(photo, engine) is not None for photo in missing)


def gallery_of(students, engine):
    rows = FaceEmbedding.objects.filter(
        photo__student__in=students, photo__status=FacePhoto.ACCEPTED, model_name=engine.embedder.name
    ).values_list("photo__student_id", "vector")
    vectors = [FaceEmbedding(vector=vector).as_array() for _, vector in rows]
    return Gallery(vectors, [student_id for student_id, _ in rows])


def recognise(image, students, engine):
    """Detect, align, embed and decide one photo for these students.
    Returns (faces with timings, one match.FaceDecision per face, match_ms).

    For now the gallery is these students only (no school-wide rival yet: the worker will keep
    the school gallery itself)."""
    embed_missing_photos(students, engine)
    faces = analyse_photo(image, engine.detector, engine.embedder)
    started = time.perf_counter()
    gallery = gallery_of(students, engine)
    decisions = decide(
        [face.embedding for face in faces], gallery, gallery.students, face_qualities(image, faces), engine.operating_point
    )
    return faces, decisions, (time.perf_counter() - started) * 1000


def crop_file(image, box):
    buffer = io.BytesIO()
    face_crop(image, box).save(buffer, format="JPEG", quality=90)
    return ContentFile(buffer.getvalue(), name="face.jpg")


def process_capture(capture_id):
    """Recognise the faces of one capture and mark attendance. Safe to run twice: a capture that
    is done is left alone, and all of its results are written in one transaction."""
    capture = Capture.objects.select_related("session__course").get(pk=capture_id)
    if capture.status == Capture.DONE:
        return capture
    started = time.perf_counter()
    Capture.objects.filter(pk=capture.pk).update(
        status=Capture.PROCESSING, started_at=timezone.now(), attempts=capture.attempts + 1, error=""
    )
    engine = face_engine()
    with capture.image.open("rb") as handle:
        image = load_image(handle)
    capture.width, capture.height = image.size  # the upright size the face boxes are measured in
    roster = capture.session.course.students.filter(is_active=True)
    faces, matches, match_ms = recognise(image, roster, engine)
    crops = [crop_file(image, face.box) for face in faces]
    saved_files = []
    try:
        save_results(capture, faces, matches, crops, engine, match_ms, started, saved_files)
    except BaseException:
        # The rows were rolled back: their crop files must not stay behind on disk.
        for stored in saved_files:
            stored.storage.delete(stored.name)
        raise
    return capture


def lock_matched_students(course, matches):
    """The students the faces were matched to, as the roster stands now, locked until the results
    commit: a deletion then waits for them (and its pre_delete removes their faces). The roster
    may have changed since the photo was matched. Returns ({id: Student} of those still enrolled
    and active, ids of those deleted meanwhile); one removed from the course is in neither."""
    matched = {match.student for match in matches if match.kind != UNKNOWN}
    # No key update: enough to make a deletion wait, and a teacher's change committing meanwhile
    # (its foreign key check takes a key-share lock on the student) is not blocked into a deadlock.
    locking = Student.objects.select_for_update(no_key=True).filter(pk__in=matched).order_by("pk")
    existing = set(locking.values_list("pk", flat=True))
    enrolled = {student.pk: student for student in course.students.filter(pk__in=existing, is_active=True)}
    return enrolled, matched - existing


@transaction.atomic
def save_results(capture, faces, matches, crops, engine, match_ms, started, saved_files):
    locked = Capture.objects.select_for_update().get(pk=capture.pk)
    if locked.status == Capture.DONE:
        return  # another delivery of the same task finished first
    locked.faces.all().delete()
    enrolled, deleted = lock_matched_students(capture.session.course, matches)
    for face, match, crop in zip(faces, matches, crops):
        if match.kind != UNKNOWN and match.student in deleted:
            continue  # a deleted student's face and crop must not stay behind as an unknown face
        student = enrolled.get(match.marked_student)
        x1, y1, x2, y2 = (round(v) for v in face.box)
        detected = DetectedFace(
            capture=locked, x1=x1, y1=y1, x2=x2, y2=y2, score=float(face.score),
            landmarks=[[round(float(x), 1), round(float(y), 1)] for x, y in face.landmarks],
            student=student, distance=match.distance if student else None,
        )
        detected.crop.save(crop.name, crop, save=False)
        saved_files.append(detected.crop)
        detected.save()
        if student is not None:
            mark_seen(capture.session, student, capture.taken_at, capture.source, match.distance)
    locked.status = Capture.DONE
    locked.embedder = engine.embedder.name
    locked.face_count = len(faces)
    locked.width, locked.height = capture.width, capture.height
    locked.detect_ms = faces.detect_ms
    locked.embed_ms = faces.embed_ms
    locked.match_ms = match_ms
    locked.total_ms = (time.perf_counter() - started) * 1000
    locked.finished_at = timezone.now()
    locked.save()


def record_failure(capture_id, error):
    Capture.objects.filter(pk=capture_id).exclude(status=Capture.DONE).update(
        status=Capture.FAILED, error=error, finished_at=timezone.now()
    )
