"""Queries over captures that the session page and the API share, so that the page and the JSON
it polls list the same captures, and the faces a correction acts on."""

from django.http import Http404
from django.shortcuts import get_object_or_404

# A session page shows and polls the latest captures; older ones stay in the admin.
CAPTURES_LISTED = 20


def with_faces(captures):
    return captures.prefetch_related(
        "faces__student",
        "faces__suggested_student",
        "faces__person",
        "faces__decided_by_user",
        "faces__rejected_students",
    )


def latest_captures(captures):
    return with_faces(captures.order_by("-created_at"))[:CAPTURES_LISTED]


def person_faces(reachable_faces, pk, also):
    """The face pk and the other faces of the same person (the ids in also), out of the faces
    a caller may correct: 404 for any face out of reach."""
    reachable = reachable_faces.select_related("capture__session__course", "student", "suggested_student")
    face = get_object_or_404(reachable, pk=pk)
    ids = {int(value) for value in also if str(value).isdigit()} - {face.pk}
    others = list(reachable.filter(pk__in=ids))
    if len(others) != len(ids):
        raise Http404("No such face.")
    return [face] + others
