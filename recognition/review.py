"""A teacher's corrections to what recognition made of a capture."""
from django.db import transaction

from students.attendance import mark_seen, set_status, status_when_first_seen

from .enrolment import add_enrolment_photo
from .models import DetectedFace, FacePhoto


class ReviewRefused(Exception):
    """The correction cannot be made; the message says why, for the teacher."""


@transaction.atomic
def assign_face(face, student, user, add_to_enrolment=False):
    """Say who a detected face is. The student is marked as seen when the photo was taken
    (present, or late after the session's late mark) as the teacher's decision, so a later
    capture does not change it. With add_to_enrolment the face crop becomes an enrolment
    photo, which helps recognise the student next time; that needs recorded consent. It is
    used only once corroborated by the student's accepted photos or approved by a school admin
    (enrolment_review): the teacher's click alone does not teach the system a face.

    Returns the enrolment FacePhoto, or None when none was added.
    """
    capture = face.capture
    session = capture.session
    if not session.course.students.filter(pk=student.pk).exists():
        raise ReviewRefused(f"{student.full_name} is not enrolled in {session.course}.")
    if add_to_enrolment and not student.has_consent:
        raise ReviewRefused(
            f"No consent for face photos is recorded for {student.full_name}: assign the face without "
            "adding it to the enrolment photos, or record consent first."
        )
    if add_to_enrolment and not face.crop:
        raise ReviewRefused("This face has no saved crop to add as an enrolment photo.")

    face.student = student
    face.decided_by = DetectedFace.PERSON
    face.decided_by_user = user
    face.save(update_fields=["student", "decided_by", "decided_by_user"])

    reason = f"Face in capture {capture.pk} identified by a teacher"
    set_status(session, student, status_when_first_seen(session, capture.taken_at), user, reason)
    # The record is now manual: mark_seen only remembers when the student was seen.
    mark_seen(session, student, capture.taken_at, capture.source, None)

    if not add_to_enrolment:
        return None
    with face.crop.open("rb") as crop:
        photo, _ = add_enrolment_photo(student, crop.read(), source=FacePhoto.REVIEW, added_by=user)
    return photo
