"""Open-set 1:N matching of the faces in one photo against enrolled students."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Euclidean distance between L2-normalised embeddings. Chosen by the sweep in
# bench/evaluate.py on the dev set (numbers in bench/README.md):
# dlib_resnet_v1_flip (normalised; dlib's raw vectors have norm ~1.43, so the
#   peer's raw 0.6 is ~0.42 here): over the 189 dev identity images the
#   closest pair of different people is 0.383. At 0.38: 0 of 17,113 impostor
#   pairs accepted, 2.1% of same-person pairs refused, 0 probes given to the
#   wrong person, 0/18 stranger images accepted; at 0.40 5 impostor pairs
#   pass, at 0.44 the first stranger is accepted, and at 0.50 (one pass, no
#   flip) two strangers in the class photos were marked present. Refusing a
#   student (the teacher fixes it) is cheaper than marking a stranger
#   present, so the threshold sits at the impostor edge.
# facenet_vggface2: NOT calibrated here (weights unavailable offline); 1.0 is
#   the usual operating point reported for this model on LFW (best
#   verification threshold 1.0-1.2). Recalibrate with bench/evaluate.py
#   --embedder facenet once the weights are installed.
DEFAULT_THRESHOLDS = {"dlib_resnet_v1_flip": 0.38, "facenet_vggface2": 1.00}
# A face whose second-nearest *different* student is within this distance of
# the nearest is ambiguous and left unknown.
DEFAULT_MARGINS = {"dlib_resnet_v1_flip": 0.05, "facenet_vggface2": 0.10}


def default_threshold(model_name: str) -> float:
    return DEFAULT_THRESHOLDS[model_name]


def default_margin(model_name: str) -> float:
    return DEFAULT_MARGINS[model_name]


@dataclass
class Match:
    label: object | None  # student id, or None = unknown
    distance: float | None  # distance to the matched student (None when unknown)
    second_distance: float | None  # distance to the nearest other student
    nearest_label: object | None = None  # nearest student even when not matched (for review)
    nearest_distance: float | None = None
    reason: str = ""  # "matched", "no_gallery", "beyond_threshold", "ambiguous", "taken"


class Gallery:
    """Enrolled embeddings (N, dim), one label (student id) per row; a student
    may have several rows (one per enrolment photo)."""

    def __init__(self, embeddings, labels):
        self.embeddings = np.asarray(embeddings, dtype=np.float32).reshape(len(labels), -1) if len(labels) else np.zeros((0, 0), np.float32)
        self.labels = list(labels)
        if len(self.labels) != len(self.embeddings):
            raise ValueError("one label per embedding row")
        self.students = sorted(set(self.labels), key=str)
        index = {s: i for i, s in enumerate(self.students)}
        self._row_student = np.array([index[label] for label in self.labels], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.labels)

    def student_distances(self, probes) -> np.ndarray:
        """(F, S) distance from each probe to each student = min over that
        student's enrolment photos (measured against mean-of-top-2 on the dev
        set: see bench/README.md)."""
        probes = np.atleast_2d(np.asarray(probes, dtype=np.float32))
        out = np.full((len(probes), len(self.students)), np.inf, dtype=np.float32)
        if len(self) == 0 or probes.size == 0:
            return out
        diff = probes[:, None, :] - self.embeddings[None, :, :]
        rows = np.sqrt((diff * diff).sum(-1))
        for s in range(len(self.students)):
            out[:, s] = rows[:, self._row_student == s].min(axis=1)
        return out


def match_faces(probe_embeddings, gallery: Gallery, threshold: float, margin: float) -> list[Match]:
    """One Match per probe face, in order.

    A face is unknown when its nearest student is beyond `threshold`, when
    the nearest *other* student is within `margin` of it (ambiguous), or when
    a closer face in the same photo already took that student.

    The one-to-one assignment is greedy over (face, nearest student) pairs
    by ascending distance. This is what we want rather than a minimum-cost
    (Hungarian) assignment: a face only ever proposes its own nearest
    student, the closest face wins a contested student, and the loser stays
    unknown instead of being pushed onto its second choice, which would be
    weaker evidence than we accept for marking someone present.
    """
    distances = gallery.student_distances(probe_embeddings)
    n_faces = distances.shape[0]
    matches = [Match(None, None, None, reason="no_gallery") for _ in range(n_faces)]
    if n_faces == 0 or not gallery.students:
        return matches
    order = np.argsort(distances, axis=1)
    nearest = order[:, 0]
    best = distances[np.arange(n_faces), nearest]
    second = distances[np.arange(n_faces), order[:, 1]] if distances.shape[1] > 1 else np.full(n_faces, np.inf)

    proposals = []
    for f in range(n_faces):
        label = gallery.students[nearest[f]]
        second_d = float(second[f]) if np.isfinite(second[f]) else None
        matches[f] = Match(None, None, second_d, label, float(best[f]))
        if best[f] > threshold:
            matches[f].reason = "beyond_threshold"
        elif second[f] - best[f] < margin:
            matches[f].reason = "ambiguous"
        else:
            proposals.append((float(best[f]), f))

    taken = set()
    for dist, f in sorted(proposals):
        student = nearest[f]
        if student in taken:
            matches[f].reason = "taken"
            continue
        taken.add(student)
        matches[f].label = gallery.students[student]
        matches[f].distance = dist
        matches[f].reason = "matched"
    return matches
