"""One person per session: the faces of a session's captures that are one person, kept as a
SessionPerson as the worker saves each capture, and the decisions a teacher makes about them.

- Placing: each face of a new capture joins the nearest person of the session it is compatible
  with (engine/grouping.place_faces: within the grouping distance of every face of the person,
  never two faces of one photo), or starts a new person. Nothing already placed moves, and
  nothing is grouped when the page or the API reads the people: they are plain queries.
- Sharing: a teacher's decision about a face is one about its person (review.py acts on every
  face of it), and it is carried to the faces that join the person later: named as the student,
  "not one of my students", or "not <student>". So a second photo of the class asks nothing
  about anyone decided in the first.
- Asking: "Who is this?" asks about a person only while nobody is decided for it: no teacher
  named or dismissed it, none of its faces marks a student, and its best suggestion is not a
  student already seen in the session (unknown_people).

- Deciding on several views: a person of several faces that nobody decided and none of whose
  faces is a student is decided on all its faces together (engine/match.decide_people, with the
  calibrated person rules) each time it gains a face: a room camera's successive small faces
  mark a student no single one could, and a stranger seen in any number of frames is no nearer
  to a mark (mark_people_by_their_views).
"""

from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q, Subquery, Window
from django.db.models.functions import RowNumber
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone

from students.attendance import lock_session

from .engine import match
from .engine.calibration import NotCalibrated, operating_point
from .engine.grouping import Person, place_faces, radius_after_joining, radius_after_leaving
from .models import DetectedFace, SessionPerson
from .sealed import opened

# "Who is this?" on the session page shows this many people at a time, the first seen first:
# a teacher answers those before the next ones appear.
PEOPLE_SHOWN = 30
# Faces of a person shown (its crops) beside the question.
FACES_SHOWN = 6
# The reason of a face marked on its person's several faces together, not on its own.
SEVERAL_VIEWS = "several_views"


def grouping_distance(embedder):
    """Two faces are one person within the embedder's auto-mark distance: a decision about the
    person holds for every face of it, so taking two faces for one person needs the evidence a
    mark needs (the calibrated false-accept rate), not a suggestion's. None: the embedder has no
    operating point on record, and faces are not grouped."""
    try:
        return operating_point(embedder, settings.FACE_MATCH_THRESHOLD).mark_distance
    except NotCalibrated:
        return None


def as_float64(blob):
    return np.frombuffer(bytes(blob), dtype=np.float64)


def unit_descriptor(face):
    vector = face.as_array().astype(np.float64)
    return vector / (np.linalg.norm(vector) or 1.0)


@dataclass(frozen=True)
class PersonEvidence:
    """What a person-level rule reads: the mean of the faces' L2-normalised descriptors (not
    renormalised: its length falls as the faces disagree), how many faces, and each face's
    size (shorter box side, px), sharpness and yaw (engine/quality.py; None where not kept)."""

    mean: np.ndarray | None
    count: int
    sizes: list
    sharpness: list
    yaws: list


def person_evidence(person):
    faces = person.faces.values_list("x1", "y1", "x2", "y2", "sharpness", "yaw")
    mean = as_float64(person.descriptor_sum) / person.face_count if person.descriptor_sum else None
    return PersonEvidence(
        mean=mean,
        count=person.face_count,
        sizes=[min(x2 - x1, y2 - y1) for x1, y1, x2, y2, _, _ in faces],
        sharpness=[sharpness for *_, sharpness, _ in faces],
        yaws=[yaw for *_, yaw in faces],
    )


# --- Placing a capture's faces ------------------------------------------------------------------


def join_session_people(capture, faces, embedder):
    """Place the new faces of one capture (saved, with the machine's decisions) in its session's
    people and carry each person's decisions to them; returns the people that gained a face.
    Runs in the transaction that saves the capture, with the session locked after the students
    any of these people may be named (processing.lock_nameable_students): two captures of one
    session saved at once are placed one after the other, each seeing the other's people."""
    session = lock_session(capture.session)
    distance = grouping_distance(embedder)
    described = [face for face in faces if face.embedding] if distance is not None else []
    placed = place_in_people(session, embedder, described, distance)
    grown = {}
    for face in faces:
        person = placed.get(face.pk) or SessionPerson.objects.create(session=session, embedder=embedder)
        add_face(person, face)
        carry_decisions(person, face, session)
        grown[person.pk] = person
    return list(grown.values())


def place_in_people(session, embedder, faces, distance):
    """{face pk: the SessionPerson of the session it joins} for the faces that join one
    (engine/grouping.place_faces: a person's faces are read only where its mean and radius
    cannot tell)."""
    if not faces:
        return {}
    # Locked: a face leaving one of them meanwhile (leave_person) waits, and is not lost.
    people = list(
        SessionPerson.objects.filter(session=session, embedder=embedder, face_count__gt=0)
        .exclude(descriptor_sum=b"")
        .select_for_update()
        .order_by("pk")
    )
    placement = place_faces(
        [face.as_array() for face in faces],
        [
            Person(as_float64(person.descriptor_sum) / person.face_count, person.radius, faces_of(person))
            for person in people
        ],
        distance,
    )
    for index, radius in placement.radii.items():
        people[index].radius = radius  # exact again: its faces were read
        people[index].save(update_fields=["radius"])
    return {face.pk: people[index] for face, index in zip(faces, placement.people, strict=True) if index is not None}


def faces_of(person):
    """Reads the descriptors of the person's faces, when placing needs them."""

    def read():
        rows = person.faces.exclude(embedding=b"").values_list("embedding", flat=True)
        return np.array([np.frombuffer(opened(row), dtype=np.float32) for row in rows])

    return read


def add_face(person, face):
    """The face is the person's: its descriptor joins the running sum, and the radius grows to
    hold it."""
    if face.embedding:
        vector = unit_descriptor(face)
        total = as_float64(person.descriptor_sum) if person.descriptor_sum else np.zeros_like(vector)
        person.radius = radius_after_joining(total, person.face_count, person.radius, vector)
        person.descriptor_sum = (total + vector).tobytes()
    person.face_count += 1
    person.save(update_fields=["descriptor_sum", "face_count", "radius"])
    face.person = person
    face.save(update_fields=["person"])


def carry_decisions(person, face, session):
    """What a teacher decided about the person holds for its new face: named (the face is the
    student, as the teacher's decision), not one of the course's students (dismissed, proposing
    nobody), not <student> (never proposing them). The machine's own decision stays in the
    face's decision and reason."""
    if person.decided_at is None:
        return  # nobody decided anything about this person yet
    rejected = set(person.rejected_students.values_list("pk", flat=True))
    before = (face.student_id, face.suggested_student_id, face.dismissed)
    if person.dismissed:
        rejected |= {pk for pk in (face.student_id, face.suggested_student_id) if pk is not None}
        face.student_id, face.suggested_student_id, face.dismissed = None, None, True
    elif person.student_id is not None and is_enrolled(person.student_id, session):
        if face.student_id not in (None, person.student_id):
            rejected.add(face.student_id)
        face.student_id, face.suggested_student_id = person.student_id, None
    if face.student_id in rejected:
        face.student_id = None
    if face.suggested_student_id in rejected:
        face.suggested_student_id = None
    if (face.student_id, face.suggested_student_id, face.dismissed) != before:
        if face.student_id != before[0]:
            face.distance = None
        if face.suggested_student_id is None:
            face.suggested_distance = None
        face.decided_by, face.decided_by_user_id, face.decided_at = (
            DetectedFace.PERSON,
            person.decided_by_user_id,
            person.decided_at,
        )
        face.save()
    face.rejected_students.add(*rejected)


@dataclass(frozen=True)
class Sighting:
    """A student the machine now sees in a person of the session, since `capture`."""

    student: object
    capture: object
    distance: float


def mark_people_by_their_views(people, gallery, enrolled, calibration):
    """Decide the open people among these (open_to_their_views) on all their faces together
    (engine/match.decide_people): where that marks a student they were not said not to be, and
    whom no other person of the session is, each of their faces that is nobody yet becomes that
    student, as the machine's mark (reason SEVERAL_VIEWS). gallery: the school's; enrolled:
    {id: Student} of the course, locked (the roster, and who may be marked). Returns a Sighting
    per person marked, from their earliest face: attendance counts from it."""
    people = [person for person in people if open_to_their_views(person)]
    views = {person.pk: list(person.faces.exclude(embedding=b"").select_related("capture")) for person in people}
    people = [person for person in people if len(views[person.pk]) > 1]
    if not people or not enrolled:
        return []
    decisions = match.decide_people(
        [([face.as_array() for face in views[p.pk]], [face.quality() for face in views[p.pk]]) for p in people],
        gallery,
        list(enrolled),
        calibration,
    )
    marked = []
    for person, decision in zip(people, decisions, strict=True):
        if (
            decision.kind != match.MARK
            or decision.student in said_not_to_be(person)
            or seen_as_another(person, decision)
        ):
            continue
        mark_as_seen_on_their_views(person, enrolled[decision.student], decision.distance)
        earliest = min(views[person.pk], key=lambda face: face.capture.taken_at).capture
        marked.append(Sighting(enrolled[decision.student], earliest, decision.distance))
    return marked


def open_to_their_views(person):
    """Whether the machine may say who the person is from its faces together: several faces,
    no teacher's "this is <student>" or "not one of my students", and none of its faces a
    student on its own evidence (marked by its several views only, the person is decided again
    as it grows: its new faces become the student too; a decision that no longer marks leaves
    the earlier marks to the teacher)."""
    return (
        person.face_count > 1
        and person.student_id is None
        and not person.dismissed
        and not person.faces.filter(student__isnull=False).exclude(reason=SEVERAL_VIEWS).exists()
    )


def seen_as_another(person, decision):
    """Whether another person of the session is the decided student already: two people are
    not one student (the nearer, seen first, keeps them; the teacher decides the other)."""
    others = DetectedFace.objects.filter(person__session_id=person.session_id, student_id=decision.student)
    return others.exclude(person=person).exists()


def said_not_to_be(person):
    """The students a teacher said the person, or one of its faces, is not."""
    through = DetectedFace.rejected_students.through
    of_faces = through.objects.filter(detectedface__person=person).values_list("student_id", flat=True)
    return set(person.rejected_students.values_list("pk", flat=True)) | set(of_faces)


def mark_as_seen_on_their_views(person, student, distance):
    person.faces.filter(student=None, dismissed=False, decided_by=DetectedFace.AUTOMATIC).update(
        student=student,
        decision=DetectedFace.MARK,
        reason=SEVERAL_VIEWS,
        distance=distance,
        suggested_student=None,
        suggested_distance=None,
    )


def is_enrolled(student_id, session):
    return session.members().filter(pk=student_id).exists()


@receiver(post_delete, sender=DetectedFace)
def leave_person(sender, instance, **kwargs):
    """A deleted face (its capture removed, its student deleted, its photo expired) leaves its
    person: out of the running sum, and a person left with no face goes. Only the person's row
    is locked: whoever deletes a student holds that student first, and a capture being placed
    may wait for its student lock while holding the session."""
    person = SessionPerson.objects.select_for_update().filter(pk=instance.person_id).first()
    if person is None:
        return
    if person.face_count <= 1:
        person.delete()
        return
    if instance.embedding and person.descriptor_sum:
        total, vector = as_float64(person.descriptor_sum), unit_descriptor(instance)
        person.radius = radius_after_leaving(total, person.face_count, person.radius, vector)
        person.descriptor_sum = (total - vector).tobytes()
    person.face_count -= 1
    person.save(update_fields=["descriptor_sum", "face_count", "radius"])


# --- A face's person, for the corrections ---------------------------------------------------------


def faces_of_people(faces):
    """The faces given, then every other face of their people (their captures' order): a
    decision about a face is one about its person."""
    faces = list(faces)
    if not faces:
        return faces
    people = {face.person_id for face in faces if face.person_id is not None}
    given = {face.pk for face in faces}
    others = (
        DetectedFace.objects.filter(person__in=people)
        .exclude(pk__in=given)
        .select_related("capture__session__course", "student", "suggested_student", "person")
        .order_by("capture__taken_at", "capture_id", "pk")
    )
    return faces + list(others)


def decide_people(faces, user, **decision):
    """Record a teacher's decision on the people of these faces (fields of SessionPerson)."""
    people = SessionPerson.objects.filter(pk__in={face.person_id for face in faces if face.person_id is not None})
    people.update(decided_by_user=user, decided_at=timezone.now(), **decision)
    return people


def reject_for_people(faces, students):
    """The people of these faces are none of these students."""
    people = {face.person_id for face in faces if face.person_id is not None}
    through = SessionPerson.rejected_students.through
    through.objects.bulk_create(
        [through(sessionperson_id=person, student_id=student.pk) for person in people for student in students],
        ignore_conflicts=True,
    )


# --- Asking "Who is this?" ------------------------------------------------------------------------


@dataclass
class UnknownPerson:
    """A person of the session nobody is decided for: one "Who is this?"."""

    person: SessionPerson
    faces: list  # up to FACES_SHOWN of its faces; the first is the one a suggestion comes from, if any
    suggestion: object | None  # Student
    suggested_distance: float | None

    @property
    def face_count(self):
        return self.person.face_count


def students_seen(session):
    """The students some face of the session is (marked, or named by a teacher), as a subquery."""
    return DetectedFace.objects.filter(person__session=session, student__isnull=False).values("student_id")


def open_people(session):
    """The session's people that ask who they are, the first seen first, with their best
    suggestion (suggestion_face, suggestion_student, suggestion_distance; none of them a student
    the person was said not to be: a rejection clears those suggestions)."""
    best = DetectedFace.objects.filter(person=OuterRef("pk"), suggested_student__isnull=False).order_by(
        "suggested_distance", "pk"
    )
    marked = DetectedFace.objects.filter(person=OuterRef("pk"), student__isnull=False)
    return (
        SessionPerson.objects.filter(session=session, student=None, dismissed=False, face_count__gt=0)
        .exclude(Exists(marked))
        .annotate(
            suggestion_face=Subquery(best.values("pk")[:1]),
            suggestion_student=Subquery(best.values("suggested_student_id")[:1]),
            suggestion_distance=Subquery(best.values("suggested_distance")[:1]),
        )
        .filter(Q(suggestion_student=None) | ~Q(suggestion_student__in=students_seen(session)))
        .order_by("pk")
    )


def unknown_people(session, limit=None):
    """One UnknownPerson per person of the session that asks who it is (open_people), with its
    suggested face first and its latest faces after it."""
    people = open_people(session)
    people = list(people[:limit] if limit is not None else people)
    # Which faces first, on the narrow rows alone (a person may have hundreds); then those faces.
    rank = Window(RowNumber(), partition_by=F("person"), order_by=[F("capture_id").desc(), F("pk").desc()])
    latest = (
        DetectedFace.objects.filter(person__in=people)
        .order_by()
        .annotate(rank=rank)
        .filter(rank__lte=FACES_SHOWN)
        .values_list("pk", flat=True)
    )
    shown = set(latest) | {person.suggestion_face for person in people if person.suggestion_face}
    faces = (
        DetectedFace.objects.filter(pk__in=shown)
        .select_related("suggested_student", "student")
        .prefetch_related("rejected_students")
        .order_by("-capture_id", "-pk")
    )
    by_person = {}
    for face in faces:
        by_person.setdefault(face.person_id, []).append(face)
    asked = []
    for person in people:
        own = by_person.get(person.pk, [])
        first = next((face for face in own if face.pk == person.suggestion_face), None)
        others = [face for face in own if face is not first]
        chosen = ([first] if first else []) + others[: FACES_SHOWN - (1 if first else 0)]
        suggestion = first.suggested_student if first else None
        asked.append(UnknownPerson(person, chosen, suggestion, person.suggestion_distance))
    return asked


def captures_of(people):
    """{person pk: [capture ids]} of these people's faces."""
    captures = {person.pk: [] for person in people}
    rows = (
        DetectedFace.objects.filter(person__in=list(captures))
        .order_by("capture_id")
        .values_list("person_id", "capture_id")
    )
    for person_id, capture_id in rows:
        captures[person_id].append(capture_id)
    return captures


def identities(session):
    """{person pk: student id} of the session's people some face of which is a student: a
    face of such a person that is nobody itself is that student's too, and asks nothing."""
    rows = DetectedFace.objects.filter(person__session=session, student__isnull=False).order_by()
    return dict(rows.values_list("person_id", "student_id").distinct())
