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

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count, F, Max, Q, Sum
from django.utils import timezone

from students.attendance import mark_seen
from students.models import Student

from .engine.calibration import NotCalibrated, calibration
from .engine.detect import FaceDetector
from .engine.device import describe_device, resolve_device
from .engine.embedders import load_embedder
from .engine.images import load_image
from .engine.match import UNKNOWN, Calibration, Gallery, OperatingPoint, decide
from .engine.memory import keep_freed_memory
from .engine.pipeline import EnrolmentRejected, PhotoFaces, analyse_photo, embed_enrolment_photo_at_sizes, face_crop
from .engine.quality import face_qualities
from .engine.threads import configure_threads
from .enrolment_review import admit_enrolment_photo
from .models import Capture, DetectedFace, FaceEmbedding, FacePhoto
from .people import join_session_people, mark_people_by_their_views
from .sealed import opener

log = logging.getLogger(__name__)

NO_CONSENT_REASON = "Waiting for consent: record the student's (or guardian's) consent in the admin first."


@dataclass(frozen=True)
class FaceEngine:
    detector: FaceDetector
    embedder: object
    calibration: Calibration

    @property
    def operating_point(self) -> OperatingPoint:
        """The rules of the largest faces, which enrolment photos are checked by."""
        return self.calibration.base


@lru_cache(maxsize=1)
def face_engine():
    """The detector and embedder of this process, loaded once: the models take seconds to load."""
    configure_threads(settings.FACE_TORCH_THREADS)
    keep_freed_memory()
    device = resolve_device(settings.FACE_DEVICE)
    log.info("Face device: %s (FACE_DEVICE=%s)", describe_device(device), settings.FACE_DEVICE)
    embedder = load_embedder(
        settings.FACE_EMBEDDER,
        facenet_weights=settings.FACENET_WEIGHTS,
        threshold_set=settings.FACE_MATCH_THRESHOLD is not None,
        device=device,
    )
    rules = calibration(embedder.name, settings.FACE_MATCH_THRESHOLD)
    log.info("Face embedder: %s, rules per face size %s", embedder.name, rules)
    return FaceEngine(FaceDetector(device=device), embedder, rules)


def embed_photo(photo, engine):
    """Embed one enrolment photo with the active model, at every gallery size of its calibration,
    or record why it cannot be used."""
    if not photo.student.has_consent:
        FacePhoto.objects.filter(pk=photo.pk).update(status=FacePhoto.PENDING, rejection_reason=NO_CONSENT_REASON)
        return None
    with photo.image.open("rb") as handle:
        image = load_image(handle)
    try:
        vectors = embed_enrolment_photo_at_sizes(
            image, engine.detector, engine.embedder, engine.calibration.gallery_sizes
        )
    except EnrolmentRejected as rejection:
        FacePhoto.objects.filter(pk=photo.pk).update(status=FacePhoto.REJECTED, rejection_reason=str(rejection))
        return None
    # Accepted, or held for a school admin: the one door into a student's gallery.
    admit_enrolment_photo(photo, engine.embedder.name, vectors, engine.operating_point)
    return vectors[0]


def photos_missing_embeddings(photos, model_name, sizes):
    """The usable ones of these enrolment photos without a vector for this model at one of these
    face sizes: after a model change, or a calibration with other size bands."""
    held = Count("embeddings", filter=Q(embeddings__model_name=model_name, embeddings__size_px__in=sizes))
    # In the order they were added: the door compares each photo with those accepted before it.
    return (
        photos.exclude(status=FacePhoto.REJECTED)
        .annotate(held=held)
        .filter(held__lt=len(sizes))
        .select_related("student")
        .order_by("pk")
    )


def embed_missing_photos(students, engine):
    """Embed every usable enrolment photo of these students that lacks a vector of the active
    model at one of its gallery sizes: after a model change the index rebuilds itself from the
    photos."""
    missing = photos_missing_embeddings(
        FacePhoto.objects.filter(student__in=students), engine.embedder.name, engine.calibration.gallery_sizes
    )
    return sum(embed_photo(photo, engine) is not None for photo in missing)


def recognisable_embeddings(model_name, sizes):
    """The gallery's rows: the active model's vectors at these face sizes of accepted photos of
    active students whose consent is recorded. Nobody else can be marked, suggested or be a rival."""
    return FaceEmbedding.objects.filter(
        model_name=model_name,
        size_px__in=sizes,
        photo__status=FacePhoto.ACCEPTED,
        photo__student__is_active=True,
        photo__student__consent_recorded_at__isnull=False,
    )


def gallery_version(model_name, sizes):
    """A fingerprint of the gallery's rows, one aggregate query: an embedding added or removed,
    a photo refused, a student leaving (inactive) or joining (consent) changes the count, the
    ids or the newest row. Reading every vector per capture would cost a school's worth of
    rows each time."""
    return tuple(
        recognisable_embeddings(model_name, sizes)
        .aggregate(
            rows=Count("pk"),
            last=Max("pk"),
            ids=Sum("pk"),
            newest=Max("created_at"),
        )
        .values()
    )


def load_gallery(model_name, sizes):
    rows = recognisable_embeddings(model_name, sizes).values_list("photo__student_id", "photo_id", "size_px", "vector")
    open_row = opener()
    vectors = (
        (student, photo, size, FaceEmbedding(vector=open_row(stored)).as_array())
        for student, photo, size, stored in rows
    )
    return Gallery.from_rows(vectors, sizes)


class SchoolGallery:
    """Every recognisable student of the school, kept by this process and read again from the
    database only when gallery_version() changes. The rival check of decide() needs the whole
    school, not one course."""

    def __init__(self):
        self._version, self._gallery = None, None

    def current(self, model_name, sizes):
        """The gallery of this model at these face sizes (0: the photos as they are)."""
        # The version is read before the rows: a change in between makes the next check reload.
        version = (model_name, tuple(sizes), *gallery_version(model_name, sizes))
        if version != self._version:
            self._gallery, self._version = load_gallery(model_name, sizes), version
        return self._gallery


school_gallery = SchoolGallery()


@dataclass(frozen=True)
class Recognition:
    """What recognise() made of one photo: the faces (with timings), one match.FaceDecision and
    one quality.FaceQuality per face, and a face crop per face when asked for."""

    faces: PhotoFaces
    qualities: list  # quality.FaceQuality per face: picked each face's size band
    decisions: list
    crops: list
    embedder: str
    match_ms: float


def recognise(image, roster_ids, engine, with_crops=False):
    """Detect, align, embed and decide one photo for the students of roster_ids (None: the
    whole school), with every recognisable student of the school as a possible rival."""
    faces = analyse_photo(image, engine.detector, engine.embedder)
    started = time.perf_counter()
    qualities = face_qualities(image, faces)
    gallery = school_gallery.current(engine.embedder.name, engine.calibration.gallery_sizes)
    decisions = decide([face.embedding for face in faces], gallery, roster_ids, qualities, engine.calibration)
    match_ms = (time.perf_counter() - started) * 1000
    crops = [crop_file(image, face.box) for face in faces] if with_crops else []
    return Recognition(faces, qualities, decisions, crops, engine.embedder.name, match_ms)


def crop_file(image, box):
    buffer = io.BytesIO()
    face_crop(image, box).save(buffer, format="JPEG", quality=90)
    return ContentFile(buffer.getvalue(), name="face.jpg")


def process_capture(capture_id):
    """Recognise the faces of one capture and mark attendance. Safe to run twice: a capture that
    is done is left alone, and all of its results are written in one transaction."""
    capture = Capture.objects.select_related("session__course").get(pk=capture_id)
    if capture.status == Capture.DONE or not start_attempt(capture):
        return capture
    engine = face_engine()
    with capture.image.open("rb") as handle:
        image = load_image(handle)
    capture.width, capture.height = image.size  # the upright size the face boxes are measured in
    # The students in the course on the session's day (students.Membership): one who joined
    # later or left before is not recognised in it.
    roster = capture.session.members()
    # The index is kept by its own task (tasks.embed_missing_enrolment_photos); a photo this
    # capture arrived before is embedded here, so the capture is right anyway. One query finds
    # none almost always.
    embed_missing_photos(roster.with_consent(), engine)
    save_results(capture, recognise(image, list(roster.values_list("pk", flat=True)), engine, with_crops=True))
    return capture


def start_attempt(capture):
    """Count this delivery of the capture as an attempt; False, and the capture failed with the
    reason, when CAPTURE_MAX_ATTEMPTS attempts were started already and none finished. A photo
    that kills its worker (out of memory) is handed out again after each death: without the cap
    it would take the workers down one after the other, for ever."""
    if capture.attempts >= settings.CAPTURE_MAX_ATTEMPTS:
        record_failure(
            capture.pk,
            f"Recognition was started {capture.attempts} times and never finished: the worker stopped each "
            "time (it may have run out of memory). Try again, or send a smaller photo.",
        )
        return False
    Capture.objects.filter(pk=capture.pk).update(
        status=Capture.PROCESSING, started_at=timezone.now(), attempts=F("attempts") + 1, error=""
    )
    return True


def lock_nameable_students(session, matches):
    """Every student this capture's save may name, locked until the results commit, before the
    session and its people: the students the faces were matched to, and the session's members
    (a person of the session may be named one of them by a teacher's decision carried
    to a new face, or by its several faces together). A deletion then waits for the capture
    (and its pre_delete removes their faces) instead of holding a student the capture needs
    while it waits for a person the capture holds (the whole locking: docs/architecture.md, "A
    deletion against a capture"). The roster may have changed since the photo was matched.
    Returns ({id: Student} of the session's members, ids of matched students deleted meanwhile);
    one whose place in the course no longer covers the session, or whose consent was withdrawn
    meanwhile, is in neither."""
    matched = {match.student for match in matches if match.kind != UNKNOWN}
    roster = session.members()
    # No key update: enough to make a deletion wait, and a teacher's change committing meanwhile
    # (its foreign key check takes a key-share lock on the student) is not blocked into a deadlock.
    # In id order: two captures never wait on each other in a circle.
    locking = (
        Student.objects.select_for_update(no_key=True)
        .filter(Q(pk__in=matched) | Q(pk__in=roster.values("pk")))
        .order_by("pk")
    )
    existing = set(locking.values_list("pk", flat=True))
    # One whose consent was withdrawn since the gallery was read is not marked from a face the
    # withdrawal could not see yet: the face is stored unknown, and forgotten with the others.
    recognisable = roster.exclude(pk__in=Student.objects.consent_withdrawn()).filter(pk__in=existing)
    enrolled = {student.pk: student for student in recognisable}
    return enrolled, matched - existing


def detected_face(capture, face, quality, decision, enrolled):
    """The DetectedFace row of one face and its decision, for the students still enrolled: a
    mark or suggestion for one removed from the course meanwhile is stored as unknown."""
    x1, y1, x2, y2 = (round(v) for v in face.box)
    marked, suggested = enrolled.get(decision.marked_student), enrolled.get(decision.suggested_student)
    kind = decision.kind if marked or suggested else UNKNOWN
    return DetectedFace(
        capture=capture,
        x1=x1,
        y1=y1,
        x2=x2,
        y2=y2,
        score=float(face.score),
        landmarks=[[round(float(x), 1), round(float(y), 1)] for x, y in face.landmarks],
        decision=kind,
        reason=decision.reason if kind == decision.kind else "not_enrolled",
        student=marked,
        distance=decision.distance if marked else None,
        suggested_student=suggested,
        suggested_distance=decision.distance if suggested else None,
        embedding=np.asarray(face.embedding, dtype=np.float32).tobytes(),
        sharpness=quality.sharpness,
        yaw=quality.yaw,
    )


def save_results(capture, result):
    """Store a capture's faces and decisions and mark the students its faces marked, in one
    transaction. Returns the DetectedFace rows stored, or None when another delivery of the
    same task stored them first."""
    stored = []
    try:
        with transaction.atomic():
            locked = Capture.objects.select_for_update().get(pk=capture.pk)
            if locked.status == Capture.DONE:
                return None
            locked.faces.all().delete()
            enrolled, deleted = lock_nameable_students(capture.session, result.decisions)
            for face, quality, decision, crop in zip(
                result.faces, result.qualities, result.decisions, result.crops, strict=True
            ):
                if decision.kind != UNKNOWN and decision.student in deleted:
                    continue  # a deleted student's face and crop must not stay behind as an unknown face
                detected = detected_face(locked, face, quality, decision, enrolled)
                detected.crop.save(crop.name, crop, save=False)
                stored.append(detected)
                detected.save()
            # One person per session: what a teacher decided about a person holds for its new faces,
            # and a person's faces together may say who it is where none alone could.
            grown = join_session_people(locked, stored, result.embedder)
            for detected in stored:
                if detected.student is not None:
                    mark_seen(capture.session, detected.student, capture.taken_at, capture.source, detected.distance)
            for seen in mark_by_several_views(grown, enrolled, result.embedder):
                mark_seen(capture.session, seen.student, seen.capture.taken_at, seen.capture.source, seen.distance)
            finish_capture(locked, capture, result)
    except BaseException:
        # The rows were rolled back: their crop files must not stay behind on disk.
        for detected in stored:
            detected.crop.storage.delete(detected.crop.name)
        raise
    return stored


def mark_by_several_views(people, enrolled, embedder):
    """people.mark_people_by_their_views with the school's gallery and the embedder's rules
    (none for an embedder without them: its faces are decided one by one only)."""
    try:
        rules = calibration(embedder, settings.FACE_MATCH_THRESHOLD)
    except NotCalibrated:
        return []
    return mark_people_by_their_views(people, school_gallery.current(embedder, rules.gallery_sizes), enrolled, rules)


def finish_capture(locked, capture, result):
    locked.status = Capture.DONE
    locked.embedder = result.embedder
    locked.face_count = len(result.faces)
    locked.width, locked.height = capture.width, capture.height
    locked.detect_ms = result.faces.detect_ms
    locked.embed_ms = result.faces.embed_ms
    locked.match_ms = result.match_ms
    locked.finished_at = timezone.now()
    locked.total_ms = (locked.finished_at - locked.started_at).total_seconds() * 1000
    locked.save()


def record_failure(capture_id, error):
    Capture.objects.filter(pk=capture_id).exclude(status=Capture.DONE).update(
        status=Capture.FAILED, error=error, finished_at=timezone.now()
    )
