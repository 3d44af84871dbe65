"""A teacher's corrections to what recognition made of a session's captures: every machine
decision can be undone where the teacher sees it (docs/architecture.md, invariants).

Each action takes the faces of one person: one face, or every face of an unknown person the
page groups across the session's captures (unknown_people). Attendance changes go through
students.attendance (a person's decision is never overwritten by the machine, and a machine
mark that loses its evidence is withdrawn); every action is written to FaceCorrection, with the
teacher and what it did, besides the attendance record's own trail.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from students.attendance import mark_seen, set_status, status_when_first_seen, withdraw_sighting

from .engine.calibration import NotCalibrated, operating_point
from .engine.grouping import group_faces
from .enrolment import add_enrolment_photo
from .models import Capture, DetectedFace, FaceCorrection, FacePhoto


class ReviewRefused(Exception):
    """The correction cannot be made; the message says why, for the teacher."""


def person_name(user):
    return user.get_full_name() or user.username


def record_correction(session_id, capture_number, action, student, user, note):
    FaceCorrection.objects.create(
        session_id=session_id,
        capture_number=capture_number,
        action=action,
        student=student,
        made_by=user,
        note=note[:300],
    )


def mark_seen_by_person(capture, student, user, reason):
    """A person says the student is in this capture: they are present, or late, by the earliest
    time they were seen in the session, as the person's decision, so a later capture does not
    change it."""
    session = capture.session
    earlier = session.attendance.filter(student=student).values_list("first_seen_at", flat=True).first()
    seen_at = min(capture.taken_at, earlier) if earlier else capture.taken_at
    set_status(session, student, status_when_first_seen(session, seen_at), user, reason)
    # The record is now manual: mark_seen only remembers when the student was seen.
    mark_seen(session, student, capture.taken_at, capture.source, None)


def withdraw_unsupported_mark(session, student, user, reason):
    """The student's machine mark in the session, now that a face of theirs was taken back:
    kept (from the earliest) while another face of theirs still marks them, else withdrawn."""
    sightings = [
        (face.capture.taken_at, face.capture.source, face.distance)
        for face in DetectedFace.objects.filter(
            capture__session=session, capture__status=Capture.DONE, student=student
        ).select_related("capture")
    ]
    return withdraw_sighting(session, student, sightings, user, reason)


def decided_by(face, user):
    face.decided_by = DetectedFace.PERSON
    face.decided_by_user = user
    face.decided_at = timezone.now()


def forget_proposals(face):
    """Who the face was said to be is rejected: never proposed for it again."""
    for student in (face.student, face.suggested_student):
        if student is not None:
            face.rejected_students.add(student)
    face.student, face.distance, face.suggested_student, face.suggested_distance = None, None, None, None


def same_session(faces):
    faces = list(faces)
    if not faces:
        raise ReviewRefused("Choose a face.")
    if len({face.capture.session_id for face in faces}) != 1:
        raise ReviewRefused("The faces of one person are all of one session.")
    return faces


@transaction.atomic
def assign_faces(faces, student, user, add_to_enrolment=False):
    """Say who the faces of one person are: the student is marked as seen when the first of
    those photos was taken, as the teacher's decision. A face the machine had marked as someone
    else is no longer theirs: their mark is withdrawn unless another face still supports it.
    With add_to_enrolment the first face's crop becomes an enrolment photo, which helps
    recognise the student next time; that needs recorded consent. It is used only once
    corroborated by the student's accepted photos or approved by a school admin
    (enrolment_review): the teacher's click alone does not teach the system a face.

    Returns the enrolment FacePhoto, or None when none was added.
    """
    faces = same_session(faces)
    session = faces[0].capture.session
    if not session.course.students.filter(pk=student.pk).exists():
        raise ReviewRefused(f"{student.full_name} is not enrolled in {session.course}.")
    if add_to_enrolment and not student.has_consent:
        raise ReviewRefused(
            f"No consent for face photos is recorded for {student.full_name}: assign the face without "
            "adding it to the enrolment photos, or record consent first."
        )
    if add_to_enrolment and not faces[0].crop:
        raise ReviewRefused("This face has no saved crop to add as an enrolment photo.")
    teacher = person_name(user)
    for face in faces:
        capture, previous = face.capture, face.student if face.student_id not in (None, student.pk) else None
        confirmed = face.student_id is None and face.suggested_student_id == student.pk
        if confirmed:
            action, note = FaceCorrection.CONFIRM, f"Suggestion in capture {capture.pk} confirmed by {teacher}"
        else:
            action = FaceCorrection.ASSIGN
            note = f"Face in capture {capture.pk} identified as {student.full_name} by {teacher}"
        if previous is not None:
            face.rejected_students.add(previous)
        face.student, face.dismissed = student, False
        decided_by(face, user)
        face.save()
        mark_seen_by_person(capture, student, user, note)
        record_correction(session.pk, capture.pk, action, student, user, note)
        if previous is not None:
            withdraw_unsupported_mark(
                session,
                previous,
                user,
                f"Face in capture {capture.pk} is not {previous.full_name} but {student.full_name}, said {teacher}",
            )
    if not add_to_enrolment:
        return None
    with faces[0].crop.open("rb") as crop:
        photo, _ = add_enrolment_photo(student, crop.read(), source=FacePhoto.REVIEW, added_by=user)
    return photo


def assign_face(face, student, user, add_to_enrolment=False):
    return assign_faces([face], student, user, add_to_enrolment)


def proposed_student(face):
    """Who the face is taken to be now: marked (or named by a person), else suggested."""
    return face.student or face.suggested_student


@transaction.atomic
def confirm_suggestion(faces, user):
    """The suggestion of the first face is right, for every face of the person."""
    faces = same_session(faces)
    student = faces[0].suggested_student
    if faces[0].student_id is not None or student is None:
        raise ReviewRefused("This face has no suggestion to confirm; choose who it is instead.")
    return assign_faces(faces, student, user)


@transaction.atomic
def reject_student(faces, user):
    """ "This is not <student>", for the student the first face is marked or suggested as: the
    faces become unknown for them and never propose them again; their machine mark in the
    session is withdrawn unless a face in another capture still supports it. A person's own
    decision about their attendance stays (the roster changes it). Returns the student."""
    faces = same_session(faces)
    student = proposed_student(faces[0])
    if student is None:
        raise ReviewRefused("This face is not marked or suggested as anyone.")
    teacher, session = person_name(user), faces[0].capture.session
    for face in faces:
        note = f"Face in capture {face.capture.pk} is not {student.full_name}, said {teacher}"
        face.rejected_students.add(student)
        if face.student_id == student.pk:
            face.student, face.distance = None, None
        if face.suggested_student_id == student.pk:
            face.suggested_student, face.suggested_distance = None, None
        decided_by(face, user)
        face.save()
        record_correction(session.pk, face.capture.pk, FaceCorrection.REJECT, student, user, note)
    said = f"Face in capture {faces[0].capture.pk} is not {student.full_name}, said {teacher}"
    withdraw_unsupported_mark(session, student, user, said)
    return student


@transaction.atomic
def dismiss_faces(faces, user):
    """ "Not one of my students": the faces stop asking who they are and mark nobody."""
    faces = same_session(faces)
    marked = next((face.student for face in faces if face.student_id is not None), None)
    if marked is not None:
        raise ReviewRefused(f"This face is marked as {marked.full_name}: say it is not {marked.full_name} first.")
    teacher = person_name(user)
    for face in faces:
        forget_proposals(face)
        face.dismissed = True
        decided_by(face, user)
        face.save()
        note = f"Face in capture {face.capture.pk} is not one of the course's students, said {teacher}"
        record_correction(face.capture.session_id, face.capture.pk, FaceCorrection.DISMISS, None, user, note)


@transaction.atomic
def remove_capture(capture, user):
    """A photo uploaded by mistake: the capture, its faces, their crops and the image go (the
    files once the deletion commits); what only it marked is withdrawn, a person's decisions
    stay. Returns the students whose machine mark it withdrew or moved."""
    locked = Capture.objects.select_for_update().select_related("session").get(pk=capture.pk)
    marked = {face.student for face in locked.faces.select_related("student") if face.student_id is not None}
    session, number, teacher = locked.session, locked.pk, person_name(user)
    note = f"Capture {number} removed by {teacher}"
    locked.delete()
    record_correction(session.pk, number, FaceCorrection.REMOVE, None, user, note)
    for student in sorted(marked, key=lambda s: s.pk):
        withdraw_unsupported_mark(session, student, user, note)
    return marked


# --- Unknown people across the captures of a session ------------------------------------------


@dataclass
class UnknownPerson:
    """The faces of a session taken to be one person nobody is marked as: one "Who is this?"."""

    faces: list  # the first is the one a suggestion comes from, if any
    suggestion: object | None  # Student
    suggested_distance: float | None

    @property
    def captures(self):
        return sorted({face.capture_id for face in self.faces})


def grouping_distance(embedder):
    """Two faces are grouped as one person within the embedder's auto-mark distance: a click on
    the group acts on every face of it, so taking two faces for one person needs the evidence a
    mark needs (the calibrated false-accept rate), not a suggestion's. None: the embedder has no
    operating point on record, and faces are not grouped."""
    try:
        return operating_point(embedder, settings.FACE_MATCH_THRESHOLD).mark_distance
    except NotCalibrated:
        return None


def group_by_person(faces):
    """Lists of faces, one per person: faces of the same embedder grouped by group_faces."""
    groups, by_embedder = [], {}
    for face in faces:
        by_embedder.setdefault(face.capture.embedder, []).append(face)
    for embedder, same_model in by_embedder.items():
        distance = grouping_distance(embedder)
        vectors = [face for face in same_model if face.embedding and distance is not None]
        grouped = {face.pk for face in vectors}
        groups += [[face] for face in same_model if face.pk not in grouped]
        indices = group_faces([face.as_array() for face in vectors], [face.capture_id for face in vectors], distance)
        groups += [[vectors[i] for i in group] for group in indices]
    return groups


def unknown_person(faces):
    """The group's best suggestion that none of its faces rejected, with its face first."""
    rejected = {student.pk for face in faces for student in face.rejected_students.all()}
    suggesting = sorted(
        (face for face in faces if face.suggested_student_id and face.suggested_student_id not in rejected),
        key=lambda face: face.suggested_distance,
    )
    if not suggesting:
        return UnknownPerson(faces, None, None)
    best = suggesting[0]
    others = [face for face in faces if face is not best]
    return UnknownPerson([best] + others, best.suggested_student, best.suggested_distance)


def unknown_people(session):
    """Every face of the session's recognised captures that asks who it is (nobody marked, not
    dismissed), one UnknownPerson per person, in the order they first appear."""
    faces = (
        DetectedFace.objects.filter(
            capture__session=session, capture__status=Capture.DONE, student=None, dismissed=False
        )
        .select_related("capture", "suggested_student")
        .prefetch_related("rejected_students")
        .order_by("capture__taken_at", "capture_id", "x1")
    )
    order = {face.pk: position for position, face in enumerate(faces)}
    groups = sorted(group_by_person(faces), key=lambda group: min(order[face.pk] for face in group))
    return [unknown_person(sorted(group, key=lambda face: order[face.pk])) for group in groups]


def attendance_now(session, student):
    """What a correction left of the student's attendance in the session, for the teacher."""
    record = session.attendance.filter(student=student).first()
    name = student.full_name
    if record is None:
        return f"{name} is not marked in this session now."
    if record.is_manual:
        return f"{name} stays {record.status}, as a person set it; change it in the roster."
    if record.is_absent_at_close:
        return f"{name} is absent: not seen before the session was closed."
    return f"{name} stays {record.status}: another photo of this session shows them."
