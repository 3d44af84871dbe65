import uuid

import numpy as np
from django.conf import settings
from django.db import models, transaction
from django.db.models.signals import post_delete, pre_delete
from django.dispatch import receiver
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from students.models import ClassSession, Student

from .engine import match
from .engine.quality import stored_quality
from .sealed import SealedBinaryField, face_storage

# The extensions a stored face image may have: those of the formats check_photo_upload lets
# through, named by the storing code from the decoded format, never by the uploader.
STORED_EXTENSIONS = {"jpg", "png", "webp"}


def _private_name(folder, filename):
    # Random names: a file name must never reveal whose face is inside.
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in STORED_EXTENSIONS:
        raise ValueError(
            f"A face image is stored as .jpg, .png or .webp, named after its decoded format, not {filename!r}."
        )
    return f"{folder}/{uuid.uuid4().hex}.{ext}"


def enrolment_photo_path(instance, filename):
    return _private_name("enrolment", filename)


def capture_path(instance, filename):
    return _private_name("captures", filename)


def face_crop_path(instance, filename):
    return _private_name("crops", filename)


class FacePhoto(models.Model):
    """An enrolment photo: the source of truth for what a student looks like. Only an accepted
    photo is in the student's gallery; a held one waits for a school admin (enrolment_review)."""

    PENDING, ACCEPTED, HELD, REJECTED = "pending", "accepted", "held", "rejected"
    STATUS_CHOICES = [
        (PENDING, _("Pending")),
        (ACCEPTED, _("Accepted")),
        (HELD, _("Waiting for approval")),
        (REJECTED, _("Rejected")),
    ]
    ADMIN, IMPORT, CAMERA, REVIEW = "admin", "import", "camera", "review"
    SOURCE_CHOICES = [
        (ADMIN, _("Uploaded in the admin")),
        (IMPORT, _("Imported from a folder")),
        (CAMERA, _("Taken with the enrolment camera")),
        (REVIEW, _("A face in a class photo, named by a teacher")),
    ]

    student = models.ForeignKey(
        Student, on_delete=models.CASCADE, related_name="face_photos", verbose_name=_("student")
    )
    image = models.ImageField(upload_to=enrolment_photo_path, storage=face_storage, verbose_name=_("image"))
    content_sha256 = models.CharField(max_length=64, blank=True, db_index=True, verbose_name=_("content sha256"))
    status = models.CharField(max_length=10, choices=STATUS_CHOICES, default=PENDING, verbose_name=_("status"))
    rejection_reason = models.CharField(max_length=300, blank=True, verbose_name=_("rejection reason"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    source = models.CharField(
        max_length=10,
        choices=SOURCE_CHOICES,
        blank=True,
        help_text=_("Where the photo came from; blank for photos added before this was recorded."),
        verbose_name=_("source"),
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("added by"),
    )
    # What the photo was compared with when it was checked, kept to show the admin who approves it.
    hold_reason = models.TextField(blank=True, verbose_name=_("hold reason"))
    own_distance = models.FloatField(
        null=True,
        blank=True,
        help_text=_("Distance to the student's accepted photos when it was checked."),
        verbose_name=_("own distance"),
    )
    lookalike = models.ForeignKey(
        Student,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Another student the photo looked like when it was checked."),
        verbose_name=_("lookalike"),
    )
    lookalike_distance = models.FloatField(null=True, blank=True, verbose_name=_("lookalike distance"))
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The school admin who approved or refused the held photo."),
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("reviewed at"))

    class Meta:
        verbose_name = _("face photo")
        verbose_name_plural = _("face photos")
        ordering = ["student__full_name", "created_at"]

    def __str__(self):
        # Not numbered: a number across all students' photos reads as "the 12th of this student's".
        taken = f", {date_format(timezone.localtime(self.created_at), 'j M Y')}" if self.created_at else ""
        return f"Enrolment photo of {self.student.full_name}{taken}"


class HeldFacePhoto(FacePhoto):
    """The admin's review queue: enrolment photos waiting for a school admin's approval."""

    class Meta:
        proxy = True
        verbose_name = _("enrolment photo waiting for approval")
        verbose_name_plural = _("enrolment photos waiting for approval")


class FaceEmbedding(models.Model):
    """A derived index over enrolment photos, keyed by model and face size: rebuilt when the model
    changes, and completed when the calibration's size bands change (a size no row has yet)."""

    photo = models.ForeignKey(FacePhoto, on_delete=models.CASCADE, related_name="embeddings", verbose_name=_("photo"))
    model_name = models.CharField(max_length=64, verbose_name=_("model name"))
    size_px = models.PositiveSmallIntegerField(
        default=0,
        help_text=_(
            "0: the face as the photo has it; else the face shrunk to this many pixels, "
            "the gallery that faces of that size in class photos are compared with."
        ),
        verbose_name=_("size px"),
    )
    vector = SealedBinaryField(verbose_name=_("vector"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("face embedding")
        verbose_name_plural = _("face embeddings")
        constraints = [
            models.UniqueConstraint(
                fields=["photo", "model_name", "size_px"], name="one_embedding_per_photo_model_and_size"
            )
        ]

    def as_array(self):
        return np.frombuffer(bytes(self.vector), dtype=np.float32)


class Capture(models.Model):
    """A class photo or camera snapshot of one session, and what the worker made of it."""

    PHOTO, CAMERA = "photo", "camera"
    SOURCE_CHOICES = [(PHOTO, _("Photo")), (CAMERA, _("Camera"))]
    QUEUED, PROCESSING, DONE, FAILED = "queued", "processing", "done", "failed"
    STATUS_CHOICES = [(QUEUED, _("Queued")), (PROCESSING, _("Processing")), (DONE, _("Done")), (FAILED, _("Failed"))]

    session = models.ForeignKey(
        ClassSession, on_delete=models.CASCADE, related_name="captures", verbose_name=_("session")
    )
    image = models.ImageField(upload_to=capture_path, storage=face_storage, verbose_name=_("image"))
    source = models.CharField(max_length=10, choices=SOURCE_CHOICES, default=PHOTO, verbose_name=_("source"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    device = models.ForeignKey(
        "access.DeviceToken",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="captures",
        help_text=_("The classroom camera that sent it, if a device sent it."),
        verbose_name=_("device"),
    )
    taken_at = models.DateTimeField(
        help_text=_("When the photo was taken; the time students are first seen."), verbose_name=_("taken at")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    status = models.CharField(max_length=12, choices=STATUS_CHOICES, default=QUEUED, verbose_name=_("status"))
    error = models.TextField(blank=True, verbose_name=_("error"))
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    embedder = models.CharField(max_length=64, blank=True, verbose_name=_("embedder"))
    face_count = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("face count"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    detect_ms = models.FloatField(null=True, blank=True, verbose_name=_("detect ms"))
    embed_ms = models.FloatField(null=True, blank=True, verbose_name=_("embed ms"))
    match_ms = models.FloatField(null=True, blank=True, verbose_name=_("match ms"))
    total_ms = models.FloatField(null=True, blank=True, verbose_name=_("total ms"))
    # The upright photo's size, which the face boxes are measured in: the page draws the photo at
    # it without opening the file.
    width = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("width"))
    height = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("height"))

    class Meta:
        verbose_name = _("capture")
        verbose_name_plural = _("captures")
        ordering = ["-created_at"]

    def __str__(self):
        return f"Capture {self.pk} of {self.session} ({self.status})"


class SessionPerson(models.Model):
    """One person across the captures of a session: the faces the worker took to be the same
    person (recognition/people.py), and the decisions a teacher made about them, which every
    face of the person shares, the faces that arrive later included.

    Kept for the person-level rule of the engine as well: the sum of the faces' L2-normalised
    descriptors and their count (the running mean, people.person_evidence); each face keeps its
    size and quality."""

    session = models.ForeignKey(
        ClassSession, on_delete=models.CASCADE, related_name="people", verbose_name=_("session")
    )
    embedder = models.CharField(
        max_length=64,
        help_text=_("The model of its descriptors: others are not comparable."),
        verbose_name=_("embedder"),
    )
    descriptor_sum = SealedBinaryField(
        default=b"",
        help_text=_("Sum of its faces' L2-normalised descriptors (float64); empty for a face without one."),
        verbose_name=_("descriptor sum"),
    )
    face_count = models.PositiveIntegerField(default=0, verbose_name=_("face count"))
    radius = models.FloatField(
        default=0.0,
        help_text=_("A bound of its faces' distance from their mean descriptor (engine/grouping.py)."),
        verbose_name=_("radius"),
    )
    student = models.ForeignKey(
        Student,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Who a teacher said the person is."),
        verbose_name=_("student"),
    )
    dismissed = models.BooleanField(
        default=False, help_text=_("A teacher said it is none of the course's students."), verbose_name=_("dismissed")
    )
    rejected_students = models.ManyToManyField(
        Student,
        blank=True,
        related_name="+",
        help_text=_("Students a teacher said the person is not."),
        verbose_name=_("rejected students"),
    )
    decided_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("decided by user"),
    )
    decided_at = models.DateTimeField(null=True, blank=True, verbose_name=_("decided at"))

    class Meta:
        verbose_name = _("session person")
        verbose_name_plural = _("session persons")
        ordering = ["pk"]

    def __str__(self):
        return f"Person {self.pk} of {self.session} ({self.face_count} faces)"


class DetectedFace(models.Model):
    """One face of a capture and what the machine decided about it (match.decide): a mark sets
    `student`, a suggestion only `suggested_student`, which marks nobody until a person assigns
    the face; a person's assignment sets `student` and decided_by, and keeps the machine's
    decision (kind and reason) beside it. A person's "this is not <student>" clears the face's
    student and suggestion and remembers them in rejected_students; "not one of my students"
    dismisses it (recognition/review.py). The face is one of its session's people (`person`):
    those decisions are the person's, for its every face (recognition/people.py)."""

    AUTOMATIC, PERSON = "auto", "person"
    DECIDED_CHOICES = [(AUTOMATIC, _("Automatically")), (PERSON, _("By a person"))]
    MARK, SUGGEST, UNKNOWN = match.MARK, match.SUGGEST, match.UNKNOWN
    DECISION_CHOICES = [(MARK, _("Marked")), (SUGGEST, _("Suggested")), (UNKNOWN, _("Unknown"))]

    capture = models.ForeignKey(Capture, on_delete=models.CASCADE, related_name="faces", verbose_name=_("capture"))
    x1 = models.IntegerField(verbose_name=_("x1"))
    y1 = models.IntegerField(verbose_name=_("y1"))
    x2 = models.IntegerField(verbose_name=_("x2"))
    y2 = models.IntegerField(verbose_name=_("y2"))
    landmarks = models.JSONField(
        default=list, help_text=_("Five (x, y) points: eyes, nose, mouth corners."), verbose_name=_("landmarks")
    )
    score = models.FloatField(verbose_name=_("score"))
    crop = models.ImageField(upload_to=face_crop_path, blank=True, storage=face_storage, verbose_name=_("crop"))
    student = models.ForeignKey(
        Student, null=True, blank=True, on_delete=models.SET_NULL, related_name="detections", verbose_name=_("student")
    )
    distance = models.FloatField(
        null=True, blank=True, help_text=_("To the student marked automatically."), verbose_name=_("distance")
    )
    decision = models.CharField(max_length=10, choices=DECISION_CHOICES, default=UNKNOWN, verbose_name=_("decision"))
    reason = models.CharField(
        max_length=40,
        blank=True,
        help_text=_("Why the machine decided so (match.decide's reasons)."),
        verbose_name=_("reason"),
    )
    suggested_student = models.ForeignKey(
        Student,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="suggested_in",
        help_text=_("Who the face may be: too weak evidence to mark them without a person."),
        verbose_name=_("suggested student"),
    )
    suggested_distance = models.FloatField(null=True, blank=True, verbose_name=_("suggested distance"))
    decided_by = models.CharField(
        max_length=10, choices=DECIDED_CHOICES, default=AUTOMATIC, verbose_name=_("decided by")
    )
    decided_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("decided by user"),
    )
    decided_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When a person last decided about the face."), verbose_name=_("decided at")
    )
    rejected_students = models.ManyToManyField(
        Student,
        blank=True,
        related_name="rejected_in",
        help_text=_("Students a person said this face is not: never proposed for it again."),
        verbose_name=_("rejected students"),
    )
    dismissed = models.BooleanField(
        default=False,
        help_text=_("A person said it is none of the course's students: it no longer asks who it is."),
        verbose_name=_("dismissed"),
    )
    # The face's descriptor (float32, as FaceEmbedding's), to place the face in the session's
    # people; empty for faces stored before it was kept.
    embedding = SealedBinaryField(blank=True, default=b"", verbose_name=_("embedding"))
    sharpness = models.FloatField(
        null=True,
        blank=True,
        help_text=_(
            "Variance of the Laplacian of the aligned face; with the box and landmarks, the "
            "face's quality, which picks the rules of its size band."
        ),
        verbose_name=_("sharpness"),
    )
    person = models.ForeignKey(
        SessionPerson,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="faces",
        help_text=_("Who of the session's people the face is: decisions about the person are the face's."),
        verbose_name=_("person"),
    )
    # With the sharpness and the box's size, the quality the person-level rule reads (engine/quality.py).
    yaw = models.FloatField(null=True, blank=True, verbose_name=_("yaw"))

    class Meta:
        verbose_name = _("detected face")
        verbose_name_plural = _("detected faces")
        ordering = ["capture", "x1"]
        indexes = [
            # Read for every person "Who is this?" lists (people.open_people): the few faces of
            # a person that are a student or suggest one, not the hundreds a camera adds.
            models.Index(
                fields=["person", "suggested_distance"],
                condition=models.Q(suggested_student__isnull=False),
                name="suggesting_faces_by_person",
            ),
            models.Index(fields=["person"], condition=models.Q(student__isnull=False), name="student_faces_by_person"),
        ]

    @property
    def box(self):
        return [self.x1, self.y1, self.x2, self.y2]

    @property
    def asks_who(self):
        """Whether the page asks "Who is this?": nobody is marked, and nobody said it is none of
        the course's students."""
        return self.student_id is None and not self.dismissed

    def as_array(self):
        return np.frombuffer(bytes(self.embedding), dtype=np.float32)

    def quality(self):
        """The quality.FaceQuality the face was decided with (match.decide_people takes one per
        face). A face stored before its sharpness was kept counts as blurred: suggested, never
        marked on its own evidence."""
        return stored_quality(self.box, self.landmarks, self.sharpness or 0.0)


class FaceCorrection(models.Model):
    """The audit trail of the corrections on the session page and API (recognition/review.py):
    who did what to which face, even where no attendance record changed (a dismissed face) or
    the record and its own trail are gone (a mark removed in an open session)."""

    CONFIRM, ASSIGN, REJECT, DISMISS, REMOVE = "confirm", "assign", "reject", "dismiss", "remove_capture"
    ACTION_CHOICES = [
        (CONFIRM, _("Suggestion confirmed")),
        (ASSIGN, _("Face assigned")),
        (REJECT, _("Not this student")),
        (DISMISS, _("Not one of the course's students")),
        (REMOVE, _("Capture removed")),
    ]

    session = models.ForeignKey(
        ClassSession, on_delete=models.CASCADE, related_name="face_corrections", verbose_name=_("session")
    )
    capture_number = models.PositiveIntegerField(
        help_text=_("The capture's id; it stays when the capture is removed."), verbose_name=_("capture number")
    )
    action = models.CharField(max_length=20, choices=ACTION_CHOICES, verbose_name=_("action"))
    student = models.ForeignKey(
        Student, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("student")
    )
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("made by")
    )
    made_at = models.DateTimeField(auto_now_add=True, verbose_name=_("made at"))
    note = models.CharField(
        max_length=300, help_text=_("What it did, as the audit trail says it."), verbose_name=_("note")
    )

    class Meta:
        verbose_name = _("face correction")
        verbose_name_plural = _("face corrections")
        ordering = ["made_at"]

    def __str__(self):
        return self.note


def delete_file_on_commit(storage, name):
    """Delete a stored face image once the transaction that stopped pointing to it commits: a
    rolled-back change keeps its file. Every route that lets go of a face image comes here."""
    transaction.on_commit(lambda: storage.delete(name))


@receiver(post_delete, sender=FacePhoto)
@receiver(post_delete, sender=Capture)
@receiver(post_delete, sender=DetectedFace)
def delete_face_image_files(sender, instance, **kwargs):
    # Deleting a row must delete the biometric file behind it, not leave it on disk.
    for field in ("image", "crop"):
        stored = getattr(instance, field, None)
        if stored:
            delete_file_on_commit(stored.storage, stored.name)


@receiver(pre_delete, sender=Student)
def delete_faces_of_student(sender, instance, **kwargs):
    # A deleted student's face crops from class photos go too (enrolment photos and embeddings
    # cascade); otherwise they would stay behind as unknown faces. Including those of a capture
    # that is saving its results right now: wait for it (docs/architecture.md, "A deletion
    # against a capture").
    instance.wait_for_captures_saving()
    # A face only suggested as theirs is most likely theirs too. In the order of their people:
    # each face locks its person as it leaves, and a capture being placed locks a session's
    # people in that order too.
    faces = DetectedFace.objects.filter(models.Q(student=instance) | models.Q(suggested_student=instance))
    for face in faces.order_by("person_id", "pk"):
        face.delete()


class WorkerHeartbeat(models.Model):
    """A recognition worker's last sign of life (recognition/heartbeat.py), one row per worker
    name, written through the database so that it works whatever the broker."""

    hostname = models.CharField(
        max_length=255, unique=True, help_text=_("The worker's Celery node name."), verbose_name=_("hostname")
    )
    started_at = models.DateTimeField(verbose_name=_("started at"))
    last_beat_at = models.DateTimeField(verbose_name=_("last beat at"))
    stopped_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When it shut down cleanly."), verbose_name=_("stopped at")
    )

    class Meta:
        verbose_name_plural = _("workers")
        ordering = ["hostname"]
        verbose_name = _("worker")

    def __str__(self):
        return self.hostname


class RetentionSweep(models.Model):
    """When each retention sweep (recognition/retention.py) last ran, and what it deleted: a
    data protection officer asks whether the deletions actually happen."""

    name = models.CharField(_("sweep"), max_length=64, unique=True)
    ran_at = models.DateTimeField(_("last run"))
    result = models.JSONField(_("deleted in its last run"), default=dict)

    class Meta:
        ordering = ["name"]
        verbose_name = _("retention sweep")
        # The admin's page for the data protection officer lists the sweeps under the summary.
        verbose_name_plural = _("records of processing")

    def __str__(self):
        return self.name


class FaceKeyRotation(models.Model):
    """A run of `manage.py rotate_face_key` (or `seal_face_data`): when, to which key, and how
    much it re-sealed; the last finished one is the key rotation date the DPO is shown."""

    ROTATE, SEAL = "rotate", "seal"
    KIND_CHOICES = [(ROTATE, _("Key rotation")), (SEAL, _("Plain data sealed"))]

    kind = models.CharField(max_length=10, choices=KIND_CHOICES, verbose_name=_("kind"))
    key_id = models.CharField(
        max_length=16,
        help_text=_("The id of the key everything was sealed under (not the key)."),
        verbose_name=_("key id"),
    )
    started_at = models.DateTimeField(auto_now_add=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Empty: stopped before the end."), verbose_name=_("finished at")
    )
    resealed = models.PositiveIntegerField(
        default=0, help_text=_("Descriptors and files sealed again."), verbose_name=_("resealed")
    )

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("face data key run")

    def __str__(self):
        return _("%(kind)s to key %(key)s, %(when)s") % {
            "kind": self.get_kind_display(),
            "key": self.key_id,
            "when": date_format(timezone.localtime(self.started_at), "j M Y H:i"),
        }
