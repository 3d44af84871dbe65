"""Which person of a session each face of a new photo is, so that a stranger seen in five
snapshots of one lesson is one "Who is this?" prompt, not five, and a decision about a person
holds for the faces that arrive after it.

Incremental: the faces of each new photo join the people found so far (or start new ones);
nothing already placed moves. A face joins a person only when it is within max_distance of
*every* face of that person (complete linkage: a chain of faces each a little nearer the next
must not join two people at its ends), and two faces of one photo never join one person (one
person appears at most once in a photo). Of the people a face may join, the one whose mean
descriptor is nearest wins, the nearest pairs first. Distances are Euclidean between
L2-normalised embeddings, as in match.py.
"""

from __future__ import annotations

import numpy as np

from .match import _unit_rows, to_distance


def may_join(face, mean, max_distance: float) -> bool:
    """Whether a face may be within max_distance of every face of a person whose faces' mean
    descriptor (of unit rows, not renormalised) is `mean`: the faces lie in the ball of that
    radius around the face, and so does their mean, the ball being convex. A necessary test,
    from one row per person, before the person's faces are read."""
    face = _unit_rows(np.asarray(face, dtype=np.float32).reshape(1, -1))[0]
    return float(np.linalg.norm(face - np.asarray(mean, dtype=np.float64))) <= max_distance


def place_faces(new_faces, people, max_distance: float, allowed=None) -> list[int | None]:
    """For each face of one new photo (new_faces: (F, dim)), the index of the person it joins
    among `people` (a list of (n_i, dim) arrays, each person's faces so far), or None: it starts
    a person of its own. allowed: an optional (F, P) bool array of the pairs that may join at
    all (the caller's rules besides the distance)."""
    count = len(new_faces)
    if count == 0:
        return []
    faces = _unit_rows(np.asarray(new_faces, dtype=np.float32).reshape(count, -1))
    candidates = []  # (distance to the person's mean, face, person)
    for p, members in enumerate(people):
        members = np.asarray(members, dtype=np.float32)
        if not len(members):
            continue
        rows = _unit_rows(members.reshape(len(members), -1))
        farthest = to_distance(faces @ rows.T).max(axis=1)
        to_mean = np.linalg.norm(faces - rows.mean(axis=0), axis=1)
        for f in np.flatnonzero(farthest <= max_distance):
            if allowed is None or allowed[f][p]:
                candidates.append((float(to_mean[f]), int(f), p))
    placed: list[int | None] = [None] * count
    taken = set()
    for _distance, f, p in sorted(candidates):
        if placed[f] is None and p not in taken:
            placed[f] = p
            taken.add(p)
    return placed
