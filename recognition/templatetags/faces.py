"""What the captures part of the session page shows besides the captures themselves. Tags
rather than the session view's context: the page's roster and captures are separate parts, and
the captures part asks for what it draws."""

from dataclasses import dataclass

from django import template

from recognition.people import PEOPLE_SHOWN, identities, open_people, unknown_people
from students.models import Student

register = template.Library()

# A face whose shorter side is under this many pixels is too small to be recognised reliably:
# a photo where most faces are is taken too far away, or at too low a resolution.
SMALL_FACE_PX = 30


@register.simple_tag
def unknown_people_of(session):
    """The first PEOPLE_SHOWN "Who is this?", one per person across the session's captures
    (people.unknown_people), and how many there are in all."""
    return {"shown": unknown_people(session, limit=PEOPLE_SHOWN), "count": open_people(session).count()}


@register.simple_tag
def people_of(session):
    """What the captures' faces show of their people: {person pk: Student} of those some face
    marks or a teacher named, and the ids of the students seen in the session."""
    known = identities(session)
    students = Student.objects.in_bulk(set(known.values()))
    return {"known": {person: students[student] for person, student in known.items()}, "seen": set(students)}


@dataclass(frozen=True)
class FaceView:
    kind: str  # marked, person, seen, suggested, dismissed or unknown
    student: Student | None = None

    @property
    def style(self):
        """The colour of its box and number: a question (suggested, unknown) stands out."""
        return {"suggested": "suggested", "dismissed": "unknown", "unknown": "unknown"}.get(self.kind, "")


@register.simple_tag
def face_view(face, people):
    """What the page says of one face: marked (a student, by the machine or a teacher), person
    (nobody itself, but its person is a student by another face), seen (suggested as a student
    already seen in the session: not asked), suggested (asks yes or no), dismissed, or unknown
    (asks who it is)."""
    if face.student_id is not None:
        return FaceView("marked", face.student)
    if face.dismissed:
        return FaceView("dismissed")
    if face.person_id in people["known"]:
        return FaceView("person", people["known"][face.person_id])
    if face.suggested_student_id is not None:
        seen = face.suggested_student_id in people["seen"]
        return FaceView("seen" if seen else "suggested", face.suggested_student)
    return FaceView("unknown")


@register.simple_tag
def face_counts(capture):
    """How many of a capture's faces are marked, suggested and still unknown, and whether most
    of them are smaller than SMALL_FACE_PX, from the faces the page prefetched."""
    faces = capture.faces.all()
    marked = sum(face.student_id is not None for face in faces)
    suggested = sum(face.student_id is None and face.suggested_student_id is not None for face in faces)
    small = sum(min(face.x2 - face.x1, face.y2 - face.y1) < SMALL_FACE_PX for face in faces)
    return {
        "marked": marked,
        "suggested": suggested,
        "unknown": len(faces) - marked - suggested,
        "too_small": small * 2 > len(faces),
        "small_px": SMALL_FACE_PX,
    }
