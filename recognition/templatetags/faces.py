"""What the captures part of the session page shows besides the captures themselves. A tag
rather than the session view's context: the page's roster and captures are separate parts, and
the captures part asks for what it draws."""

from django import template

from recognition.review import unknown_people

register = template.Library()


@register.simple_tag
def unknown_people_of(session):
    """One "Who is this?" per person across the session's captures (review.unknown_people)."""
    return unknown_people(session)


@register.simple_tag
def face_counts(capture):
    """How many of a capture's faces are marked, suggested and still unknown, from the faces
    the page prefetched."""
    faces = capture.faces.all()
    marked = sum(face.student_id is not None for face in faces)
    suggested = sum(face.student_id is None and face.suggested_student_id is not None for face in faces)
    return {"marked": marked, "suggested": suggested, "unknown": len(faces) - marked - suggested}
