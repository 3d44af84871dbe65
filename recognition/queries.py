"""Queries over captures that the session page and the API share, so that the page and the JSON
it polls list the same captures."""

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
