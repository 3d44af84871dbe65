"""What the captures part of the session page shows besides the captures themselves. Tags
rather than the session view's context: the page's roster and captures are separate parts, and
the captures part asks for what it draws."""

from dataclasses import dataclass

from django import template

from recognition.face_labels import GAP, Rect, margin, place_labels
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
        return {"suggested": "suggested", "dismissed": "dismissed", "unknown": "unknown"}.get(self.kind, "")

    @property
    def asks(self):
        """Whether the face's person has a "Who is this?" card."""
        return self.kind in ("suggested", "unknown")


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


@register.filter
def seconds(milliseconds):
    """A processing time in seconds: a teacher reads 2.4 s, not 2412 ms."""
    return milliseconds / 1000


@register.simple_tag
def face_counts(capture):
    """How many of a capture's faces are marked, suggested and still unknown, and whether most
    of them are smaller than SMALL_FACE_PX, from the faces the page prefetched."""
    faces = capture.faces.all()
    marked = sum(face.student_id is not None for face in faces)
    suggested = sum(face.student_id is None and face.suggested_student_id is not None for face in faces)
    dismissed = sum(face.student_id is None and face.dismissed for face in faces)
    small = sum(min(face.x2 - face.x1, face.y2 - face.y1) < SMALL_FACE_PX for face in faces)
    return {
        "marked": marked,
        "suggested": suggested,
        "dismissed": dismissed,
        "unknown": len(faces) - marked - suggested - dismissed,
        "too_small": small * 2 > len(faces),
        "small_px": SMALL_FACE_PX,
    }


# The photo is drawn this many units wide, whatever its size (face_marks).
DRAWN_WIDTH = 1000


@dataclass(frozen=True)
class FaceMark:
    face: object
    number: int
    view: FaceView
    box: Rect
    chip: Rect
    font_size: float
    # Where the line from a chip placed away from its face meets the box; None when beside it.
    leader: tuple | None


@register.simple_tag
def face_marks(capture, people):
    """How the photo of a capture is drawn: the viewBox (the photo and the numbers placed beyond
    its edges) and the image's height in drawing units (DRAWN_WIDTH wide), and a FaceMark per
    face, numbered in the order of capture.faces, each number placed by face_labels.place_labels
    so that none covers another or a face."""
    faces = list(capture.faces.all())
    scale = DRAWN_WIDTH / capture.width
    boxes = [
        Rect(face.x1 * scale, face.y1 * scale, (face.x2 - face.x1) * scale, (face.y2 - face.y1) * scale)
        for face in faces
    ]
    tall = round(capture.height * scale)
    edge = margin(boxes)
    area = Rect(-edge, -edge, DRAWN_WIDTH + 2 * edge, tall + 2 * edge)
    marks = []
    for number, (face, box, label) in enumerate(zip(faces, boxes, place_labels(boxes, area), strict=True), 1):
        chip = label.chip
        leader = None
        if label.away:
            cx, cy = chip.centre
            leader = (min(max(cx, box.x), box.x + box.w), min(max(cy, box.y), box.y + box.h))
        marks.append(FaceMark(face, number, face_view(face, people), box, chip, round(chip.h * 0.62, 1), leader))
    # The drawing reaches beyond the photo only as far as a number placed there needs.
    chips = [mark.chip for mark in marks]
    left, top = min([0, *(chip.x - GAP for chip in chips)]), min([0, *(chip.y - GAP for chip in chips)])
    right = max([DRAWN_WIDTH, *(chip.right + GAP for chip in chips)])
    bottom = max([tall, *(chip.bottom + GAP for chip in chips)])
    viewbox = " ".join(f"{value:g}" for value in (left, top, right - left, bottom - top))
    return {"viewbox": viewbox, "tall": tall, "marks": marks}


@register.simple_tag
def numbers_on(capture, person):
    """The (face, number) of a person's faces on this capture's drawing (face_marks' numbers)."""
    if capture is None or capture.status != capture.DONE:
        return []
    return [(face, number) for number, face in enumerate(capture.faces.all(), 1) if face.person_id == person.pk]
