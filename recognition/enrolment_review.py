"""The door of a student's gallery: once an enrolment photo's face is embedded, is the photo
accepted at once, or held until a school admin approves it?

One mistaken click must not teach the system a face (docs/architecture.md, invariants). So:
- a face a teacher named in a class photo (source REVIEW) is accepted only when it is
  corroborated by the student's accepted photos: it would mark the student present by the same
  rule attendance uses (within the calibrated auto-mark distance for the student's number of
  distinct photos, and the school margin clear of every other student). The face then adds
  nothing the system did not already accept as that student. Anything weaker waits for approval;
- a photo from any route that looks like *another* student (within the auto-mark distance of
  their accepted photos, or nearer to them than to its own student) is held too, naming them:
  a duplicate enrolment or a photo put in the wrong folder. An admin's own upload included, for a
  second look: approving it is one more deliberate step by any school admin;
- everything else an admin adds (admin upload, folder import, enrolment camera) is accepted.

Only accepted photos are in a gallery (processing.gallery_of); a refused photo never is.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from access.roles import require_school_admin
from students.models import Student
from students.names import person_name

from .engine.match import Gallery, OperatingPoint
from .models import FaceEmbedding, FacePhoto

ONLY_ADMINS_DECIDE = _("Only a school admin approves or refuses enrolment photos.")


class WithdrawRefused(Exception):
    """The photo cannot be withdrawn; the message says why, for the teacher."""


@dataclass(frozen=True)
class GalleryCheck:
    """How a new face compares with the school's accepted photos."""

    own_distance: float | None  # to the student's own accepted photos; None without any
    corroboration_distance: float | None  # own_distance at or under this corroborates
    lookalike: int | None  # the nearest other student (id)
    lookalike_distance: float | None
    looks_like_other: bool  # held, whoever added it
    corroborated: bool


def check_against_gallery(vector, gallery: Gallery, student_id, point: OperatingPoint) -> GalleryCheck:
    """Compare one face with the accepted photos of the whole school (gallery, labelled by
    student id, without the photo itself)."""
    distances = {}
    if len(gallery):
        distances = dict(zip(gallery.students, map(float, gallery.student_distances([vector])[0]), strict=True))
    own = distances.pop(student_id, None)
    corroboration = point.mark_distance_for(gallery.photo_count(student_id)) if own is not None else None
    lookalike = min(distances, key=distances.get) if distances else None
    rival = distances.get(lookalike)
    looks_like_other = rival is not None and (rival <= point.mark_distance or (own is not None and rival < own))
    corroborated = (
        own is not None
        and own <= corroboration
        and not looks_like_other
        and (rival is None or rival - own >= point.school_margin)
    )
    return GalleryCheck(own, corroboration, lookalike, rival, looks_like_other, corroborated)


def needs_approval(check: GalleryCheck, source) -> bool:
    return check.looks_like_other or (source == FacePhoto.REVIEW and not check.corroborated)


def hold_reason(check: GalleryCheck, student, lookalike):
    """Why the photo waits, for the admin who decides and the teacher who added it."""
    if check.looks_like_other:
        own = (
            f"{check.own_distance:.3f} from {student.full_name}'s"
            if check.own_distance is not None
            else f"and {student.full_name} has no accepted photo yet"
        )
        return (
            f"This looks like {lookalike.full_name}: {check.lookalike_distance:.3f} from their accepted photos, {own}."
        )
    if check.own_distance is None:
        return f"{student.full_name} has no accepted photo to compare this face with."
    if check.own_distance > check.corroboration_distance:
        return (
            f"This face is {check.own_distance:.3f} from {student.full_name}'s accepted photos; a face is taken "
            f"without approval only within {check.corroboration_distance:.3f}, the distance that marks them present."
        )
    return (
        f"This face is {check.own_distance:.3f} from {student.full_name}'s accepted photos but also "
        f"{check.lookalike_distance:.3f} from {lookalike.full_name}'s: too close to tell them apart."
    )


def accepted_gallery(model_name, excluding_photo):
    """The school's accepted photos' vectors of this model, labelled by student id."""
    rows = (
        FaceEmbedding.objects.filter(photo__status=FacePhoto.ACCEPTED, model_name=model_name, size_px=0)
        .exclude(photo=excluding_photo)
        .values_list("photo__student_id", "vector")
    )
    vectors = [FaceEmbedding(vector=vector).as_array() for _student, vector in rows]
    return Gallery(vectors, [student for student, _vector in rows])


@transaction.atomic
def admit_enrolment_photo(photo, model_name, vectors, point: OperatingPoint):
    """Keep a photo's vectors for one model ({face size: vector}, 0: the photo as it is) and, the
    first time it is embedded, decide by the photo as it is whether it is accepted or held (with
    why). Returns the photo as it now stands, or None when it was deleted meanwhile.

    A decision stands: a later vector (after a model change) does not reopen it, and a refused
    photo gets no vector at all."""
    photo = FacePhoto.objects.select_for_update().filter(pk=photo.pk).first()
    if photo is None or photo.status == FacePhoto.REJECTED:
        return photo
    for size, vector in vectors.items():
        FaceEmbedding.objects.update_or_create(
            photo=photo, model_name=model_name, size_px=size, defaults={"vector": vector.astype("float32").tobytes()}
        )
    if photo.status != FacePhoto.PENDING:
        return photo
    check = check_against_gallery(vectors[0], accepted_gallery(model_name, photo), photo.student_id, point)
    held = needs_approval(check, photo.source)
    photo.status = FacePhoto.HELD if held else FacePhoto.ACCEPTED
    lookalike = Student.objects.filter(pk=check.lookalike).first() if check.lookalike is not None else None
    photo.hold_reason = hold_reason(check, photo.student, lookalike) if held else ""
    photo.own_distance = check.own_distance
    photo.lookalike_id = check.lookalike if check.looks_like_other else None
    photo.lookalike_distance = check.lookalike_distance if check.looks_like_other else None
    photo.rejection_reason = ""
    photo.save(
        update_fields=[
            "status",
            "hold_reason",
            "own_distance",
            "lookalike",
            "lookalike_distance",
            "rejection_reason",
        ]
    )
    return photo


def lock_held(photos):
    """The ids of the held photos among these, locked until the decision commits: two admins
    deciding at once decide each photo once."""
    held = FacePhoto.objects.select_for_update().filter(pk__in=photos.values("pk"), status=FacePhoto.HELD)
    return list(held.values_list("pk", flat=True))


@transaction.atomic
def approve_held_photos(photos, user):
    """A school admin lets held photos into their students' galleries. Returns how many."""
    require_school_admin(user, ONLY_ADMINS_DECIDE)
    return FacePhoto.objects.filter(pk__in=lock_held(photos)).update(
        status=FacePhoto.ACCEPTED, reviewed_by=user, reviewed_at=timezone.now()
    )


@transaction.atomic
def refuse_held_photos(photos, user):
    """A school admin refuses held photos: they never enter a gallery, and their vectors go.
    The photos stay, refused, so the teacher who added one sees what became of it. Returns how many."""
    require_school_admin(user, ONLY_ADMINS_DECIDE)
    ids = lock_held(photos)
    FaceEmbedding.objects.filter(photo__in=ids).delete()
    return FacePhoto.objects.filter(pk__in=ids).update(
        status=FacePhoto.REJECTED,
        rejection_reason=f"Refused by {person_name(user)}, a school admin.",
        reviewed_by=user,
        reviewed_at=timezone.now(),
    )


@transaction.atomic
def withdraw_held_photo(photo, user):
    """The teacher who added a held photo takes it back: the photo, its file and vector are deleted."""
    photo = FacePhoto.objects.select_for_update().filter(pk=photo.pk).first()
    if photo is None or photo.status != FacePhoto.HELD or photo.added_by_id != user.pk:
        raise WithdrawRefused(_("Only a photo you added that is still waiting for approval can be withdrawn."))
    photo.delete()
