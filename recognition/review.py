"""A teacher's corrections to what recognition made of a session's captures: every machine
decision can be undone where the teacher sees it (docs/architecture.md, invariants).

Each action takes a person of the session (recognition/people.py): the face acted on and every
other face of its person, in whichever captures, and the person keeps the decision for the
faces that join it later. Attendance changes go through
students.attendance (a person's decision is never overwritten by the machine, and a machine
mark that loses its evidence is withdrawn); every action is written to FaceCorrection, with the
teacher and what it did, besides the attendance record's own trail.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from students.attendance import lock_session, mark_seen, set_status, status_when_first_seen, withdraw_sighting
from students.models import AttendanceRecord
from students.names import person_name

from .enrolment import add_enrolment_photo
from .models import Capture, DetectedFace, FaceCorrection, FacePhoto, SessionPerson
from .people import decide_people, faces_of_people, reject_for_people


class ReviewRefused(Exception):
    """The correction cannot be made; the message says why, for the teacher."""


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
    set_status(session, student, status_when_first_seen(session, seen_at), user, reason, AttendanceRecord.FACE)
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


def same_session(faces):
    """The faces given and the rest of their people (people.faces_of_people), all of one session,
    read with the session locked: a capture being saved meanwhile places its faces before or
    after the correction, never in between."""
    faces = list(faces)
    if not faces:
        raise ReviewRefused(_("Choose a face."))
    lock_session(faces[0].capture.session)
    faces = faces_of_people(faces)
    if len({face.capture.session_id for face in faces}) != 1:
        raise ReviewRefused(_("The faces of one person are all of one session."))
    return faces


def in_captures(faces):
    """Where the faces are, and the verb that goes with them, as the audit trail says it: ("Face
    in capture 12", "is"), ("Faces in captures 12 and 14", "are"), ("Faces in 40 captures (12 to
    97)", "are")."""
    numbers = sorted({face.capture_id for face in faces})
    if len(numbers) == 1:
        return f"Face in capture {numbers[0]}", "is"
    if len(numbers) <= 5:
        return f"Faces in captures {', '.join(map(str, numbers[:-1]))} and {numbers[-1]}", "are"
    return f"Faces in {len(numbers)} captures ({numbers[0]} to {numbers[-1]})", "are"


def decide_faces(faces, user, **fields):
    """A teacher's decision on these faces (fields of DetectedFace), in one update."""
    DetectedFace.objects.filter(pk__in=[face.pk for face in faces]).update(
        decided_by=DetectedFace.PERSON, decided_by_user=user, decided_at=timezone.now(), **fields
    )


def reject_for_faces(pairs):
    """Each (face, student): the face is not that student, never proposed for it again."""
    through = DetectedFace.rejected_students.through
    through.objects.bulk_create(
        [through(detectedface_id=face.pk, student_id=student.pk) for face, student in pairs], ignore_conflicts=True
    )


@transaction.atomic
def assign_faces(faces, student, user, add_to_enrolment=False):
    """Say who a person is (the faces given and every other face of their people): the student
    is marked as seen when the first of those photos was taken, as the teacher's decision, and
    the faces that join the person later are the student's too. A face the machine had marked
    as someone else is no longer theirs: their mark is withdrawn unless another face still
    supports it. With add_to_enrolment the first face's crop becomes an enrolment photo, which
    helps recognise the student next time; that needs recorded consent. It is used only once
    corroborated by the student's accepted photos or approved by a school admin
    (enrolment_review): the teacher's click alone does not teach the system a face.

    Returns the enrolment FacePhoto, or None when none was added.
    """
    faces = same_session(faces)
    session = faces[0].capture.session
    if not session.members().filter(pk=student.pk).exists():
        raise ReviewRefused(
            _("%(name)s is not in %(course)s on the session's day.")
            % {"name": student.full_name, "course": session.course}
        )
    if add_to_enrolment and not student.has_consent:
        raise ReviewRefused(
            _(
                "No consent for face photos is recorded for %(name)s: assign the face without adding it to the "
                "enrolment photos, or record consent first."
            )
            % {"name": student.full_name}
        )
    if add_to_enrolment and not faces[0].crop:
        raise ReviewRefused(_("This face has no saved crop to add as an enrolment photo."))
    teacher, (where, verb) = person_name(user), in_captures(faces)
    previous = {face.student for face in faces if face.student_id not in (None, student.pk)}
    if faces[0].student_id is None and faces[0].suggested_student_id == student.pk:
        action, note = FaceCorrection.CONFIRM, f"Suggestion in {where.split(' in ', 1)[1]} confirmed by {teacher}"
    else:
        action, note = FaceCorrection.ASSIGN, f"{where} identified as {student.full_name} by {teacher}"
    reject_for_faces([(face, face.student) for face in faces if face.student in previous])
    decide_faces(faces, user, student=student, dismissed=False)
    people = decide_people(faces, user, student=student, dismissed=False)
    reject_for_people(faces, previous)
    SessionPerson.rejected_students.through.objects.filter(sessionperson__in=people, student=student).delete()
    earliest = min((face.capture for face in faces), key=lambda capture: capture.taken_at)
    mark_seen_by_person(earliest, student, user, note)
    record_correction(session.pk, faces[0].capture_id, action, student, user, note)
    for other in sorted(previous, key=lambda s: s.pk):
        withdraw_unsupported_mark(
            session, other, user, f"{where} {verb} not {other.full_name} but {student.full_name}, said {teacher}"
        )
    if not add_to_enrolment:
        return None
    with faces[0].crop.open("rb") as crop:
        photo, _new = add_enrolment_photo(student, crop.read(), source=FacePhoto.REVIEW, added_by=user)
    return photo


def assign_face(face, student, user, add_to_enrolment=False):
    return assign_faces([face], student, user, add_to_enrolment)


def proposed_student(faces):
    """Who the person of these faces is taken to be now: the first face's student (marked, or
    named by a person), else its suggestion, else any other face's student, else the best
    suggestion among them."""
    first = faces[0]
    if first.student or first.suggested_student:
        return first.student or first.suggested_student
    marked = next((face.student for face in faces if face.student_id is not None), None)
    suggesting = sorted((face for face in faces if face.suggested_student_id), key=lambda f: f.suggested_distance)
    return marked or (suggesting[0].suggested_student if suggesting else None)


@transaction.atomic
def confirm_suggestion(faces, user):
    """The suggestion of the first face is right, for every face of the person."""
    faces = list(faces)
    student = faces[0].suggested_student if faces else None
    if faces[0].student_id is not None or student is None:
        raise ReviewRefused(_("This face has no suggestion to confirm; choose who it is instead."))
    return assign_faces(faces, student, user)


@transaction.atomic
def reject_student(faces, user):
    """ "This is not <student>", for the student the person is marked or suggested as: its
    faces become unknown for them and never propose them again, nor do the faces that join the
    person later; their mark in the session, the machine's or the one a teacher gave by naming
    this face, is withdrawn unless another face of theirs still supports it. A status set in the
    roster stays (the roster changes it). Returns the student."""
    faces = same_session(faces)
    student = proposed_student(faces)
    if student is None:
        raise ReviewRefused(_("This face is not marked or suggested as anyone."))
    teacher, session = person_name(user), faces[0].capture.session
    note = "{} {} not {}, said {}".format(*in_captures(faces), student.full_name, teacher)
    reject_for_faces([(face, student) for face in faces])
    ids = [face.pk for face in faces]
    DetectedFace.objects.filter(pk__in=ids, student=student).update(student=None, distance=None)
    DetectedFace.objects.filter(pk__in=ids, suggested_student=student).update(
        suggested_student=None, suggested_distance=None
    )
    decide_faces(faces, user)
    people = decide_people(faces, user)
    people.filter(student=student).update(student=None)
    reject_for_people(faces, [student])
    record_correction(session.pk, faces[0].capture_id, FaceCorrection.REJECT, student, user, note)
    withdraw_unsupported_mark(session, student, user, note)
    return student


@transaction.atomic
def dismiss_faces(faces, user):
    """ "Not one of my students": the person's faces, and those that join it later, stop asking
    who they are and mark nobody."""
    faces = same_session(faces)
    marked = next((face.student for face in faces if face.student_id is not None), None)
    if marked is not None:
        raise ReviewRefused(
            _("This face is marked as %(name)s: say it is not %(name)s first.") % {"name": marked.full_name}
        )
    reject_for_faces([(face, face.suggested_student) for face in faces if face.suggested_student_id])
    decide_faces(faces, user, dismissed=True, suggested_student=None, suggested_distance=None)
    decide_people(faces, user, dismissed=True)
    note = "{} {} not one of the course's students, said {}".format(*in_captures(faces), person_name(user))
    record_correction(faces[0].capture.session_id, faces[0].capture_id, FaceCorrection.DISMISS, None, user, note)


@transaction.atomic
def remove_capture(capture, user):
    """A photo uploaded by mistake: the capture, its faces, their crops and the image go (the
    files once the deletion commits; its faces leave their people); what only it marked, or a
    teacher named on it, is withdrawn; a status set in the roster stays. Returns the students
    whose mark it withdrew or moved."""
    locked = Capture.objects.select_for_update().select_related("session").get(pk=capture.pk)
    # Its faces leave their people: after any capture of the session being placed among them.
    lock_session(locked.session)
    marked = {face.student for face in locked.faces.select_related("student") if face.student_id is not None}
    session, number, teacher = locked.session, locked.pk, person_name(user)
    note = f"Capture {number} removed by {teacher}"
    locked.delete()
    record_correction(session.pk, number, FaceCorrection.REMOVE, None, user, note)
    for student in sorted(marked, key=lambda s: s.pk):
        withdraw_unsupported_mark(session, student, user, note)
    return marked


def attendance_now(session, student):
    """What a correction left of the student's attendance in the session, for the teacher."""
    record = session.attendance.filter(student=student).first()
    if record is None:
        return _("%(name)s is not marked in this session now.") % {"name": student.full_name}
    words = {"name": student.full_name, "status": record.get_status_display().lower()}
    if record.is_manual:
        return _("%(name)s stays %(status)s, as a person set it; change it in the roster.") % words
    if record.is_absent_at_close:
        return _("%(name)s is absent: not seen before the session was closed.") % words
    return _("%(name)s stays %(status)s: another photo of this session shows them.") % words
