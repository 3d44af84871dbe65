"""Group the faces of several photos into people, so that a stranger seen in five snapshots of
one lesson is one "Who is this?" prompt, not five.

Greedy agglomerative clustering with complete linkage: the closest pair of groups is merged
first, and two groups merge only when *every* face of one is within max_distance of every face
of the other, and they share no photo (one person appears at most once in a photo). Complete
linkage, not single: a chain of faces each a little nearer the next must not join two people
at its ends. Distances are Euclidean between L2-normalised embeddings, as in match.py.
"""

from __future__ import annotations

import numpy as np

from .match import _unit_rows, to_distance


def group_faces(embeddings, photos, max_distance: float) -> list[list[int]]:
    """Indices of the faces, grouped by person: each group sorted, groups in order of their
    first face. embeddings: (F, dim); photos: one photo id per face."""
    count = len(photos)
    if count == 0:
        return []
    rows = _unit_rows(np.asarray(embeddings, dtype=np.float32).reshape(count, -1))
    distances = to_distance(rows @ rows.T)
    groups = {face: [face] for face in range(count)}
    owner = list(range(count))  # which group each face is in, by the group's first face
    pairs = np.argwhere(np.triu(distances <= max_distance, k=1))
    for a, b in sorted(pairs.tolist(), key=lambda pair: (distances[pair[0], pair[1]], pair)):
        first, second = sorted((owner[a], owner[b]))
        if first == second:
            continue
        joined, joining = groups[first], groups[second]
        if {photos[f] for f in joined} & {photos[f] for f in joining}:
            continue
        if distances[np.ix_(joined, joining)].max() > max_distance:
            continue
        joined.extend(joining)
        for face in joining:
            owner[face] = first
        del groups[second]
    return [sorted(group) for _, group in sorted(groups.items())]
