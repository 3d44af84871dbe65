"""Open-set 1:N decisions for the faces of one photo: mark, suggest or unknown.

A face *marks* a student of the course only on strong evidence; weaker evidence becomes a
*suggestion* (student + distance) that marks nobody until a person confirms it; beyond that the
face is *unknown*. The evidence, each rule measured with identities held out (bench/evaluate.py,
figures in recognition/engine/calibrations/<model>.json):
- the distance to the student (min over their enrolment photos);
- the margin to the next student of the roster and to the nearest student of the whole school:
  a face nearly as near to someone else is ambiguous, whoever that someone is enrolled with;
- how many distinct enrolment photos the student has: one or two photos say little about how
  the student varies, so a stranger who resembles them lands closer than to a student with many;
- the face's quality (size, sharpness, pose): small, blurred or turned faces give drifting
  descriptors.
Distances are Euclidean between L2-normalised embeddings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MARK, SUGGEST, UNKNOWN = "mark", "suggest", "unknown"
# Two enrolment photos of one student this close are the same shot twice (the
# dev set's near-duplicate it removed was at 0.087 with dlib): they count as one.
SAME_SHOT_DISTANCE = 0.10


@dataclass(frozen=True)
class OperatingPoint:
    """The rules of decide(), per embedder (distances are that embedder's)."""

    mark_distance: float  # auto-mark only at or under this ...
    few_photos: int  # ... and for a student with fewer distinct photos than this
    few_photos_mark_distance: float  # ... only at or under this
    suggest_distance: float  # a suggestion at or under this; unknown beyond
    roster_margin: float  # next roster student must be this much farther to auto-mark
    school_margin: float  # nearest student of another course must be this much farther
    min_face_px: float  # quality gates for an auto-mark (a weaker face is suggested)
    min_sharpness: float
    max_yaw: float

    def mark_distance_for(self, photos: int) -> float:
        return self.mark_distance if photos >= self.few_photos else self.few_photos_mark_distance


@dataclass(frozen=True)
class FaceDecision:
    kind: str  # MARK, SUGGEST or UNKNOWN
    student: object | None  # the nearest roster student (the candidate), kept for review even when unknown
    distance: float | None  # distance from the face to that student
    second_distance: float | None  # to the next student of the roster
    rival: object | None  # nearest enrolled student outside the roster
    rival_distance: float | None
    photos: int  # distinct enrolment photos of the candidate
    reason: str  # why this kind: see decide()

    @property
    def marked_student(self):
        return self.student if self.kind == MARK else None

    @property
    def suggested_student(self):
        return self.student if self.kind == SUGGEST else None


class Gallery:
    """Enrolled embeddings (N, dim), one label (student id) per row; a student may have several
    rows (one per enrolment photo). Rows and probes are L2-normalised here (the embedders' output
    already is). Rows are kept sorted by student so the per-student minimum distance is one
    np.maximum.reduceat of similarities over the columns of one matrix product."""

    def __init__(self, embeddings, labels):
        labels = list(labels)
        rows = (
            np.asarray(embeddings, dtype=np.float32).reshape(len(labels), -1)
            if labels
            else np.zeros((0, 0), np.float32)
        )
        if len(labels) != len(rows):
            raise ValueError("one label per embedding row")
        self.students = sorted(set(labels), key=str)
        index = {s: i for i, s in enumerate(self.students)}
        row_student = np.array([index[label] for label in labels], dtype=np.int64)
        order = np.argsort(row_student, kind="stable")
        self.embeddings = _unit_rows(rows[order])
        self._row_student = row_student[order]
        self._starts = np.searchsorted(self._row_student, np.arange(len(self.students)))
        self._ends = np.append(self._starts[1:], len(labels)).astype(np.int64)
        self._student_index = index

    def __len__(self) -> int:
        return len(self._row_student)

    def similarities(self, probes) -> np.ndarray:
        """(F, N) cosine similarity of each probe to each row: ||a - b||^2 = 2 - 2 a.b for unit
        rows, so every distance of a photo to the school is this one matrix product."""
        probes = _unit_rows(np.atleast_2d(np.asarray(probes, dtype=np.float32)))
        if len(self) == 0:
            return np.zeros((len(probes), 0), dtype=np.float32)
        return probes @ self.embeddings.T

    def student_distances(self, probes, similarities=None) -> np.ndarray:
        """(F, S) distance from each probe to each student = min over that student's photos:
        one product and one per-student reduction over the columns (rows sorted by student)."""
        sims = self.similarities(probes) if similarities is None else similarities
        if len(self) == 0 or sims.size == 0:
            return np.full((len(sims), len(self.students)), np.inf, dtype=np.float32)
        return to_distance(np.maximum.reduceat(sims, self._starts, axis=1))

    def rows_of(self, mask) -> np.ndarray:
        """Row indices of the students in this (S,) bool mask, in gallery order."""
        return np.flatnonzero(mask[self._row_student])

    def mask_of(self, student_ids) -> np.ndarray:
        """(S,) bool: which gallery students are among these ids (None = all)."""
        if student_ids is None:
            return np.ones(len(self.students), dtype=bool)
        mask = np.zeros(len(self.students), dtype=bool)
        mask[[self._student_index[s] for s in student_ids if s in self._student_index]] = True
        return mask

    def photo_count(self, student) -> int:
        """Distinct enrolment photos of one student: a photo within SAME_SHOT_DISTANCE of one
        already counted adds nothing (the spread of the photos, not only their number)."""
        s = self._student_index[student]
        rows = self.embeddings[self._starts[s] : self._ends[s]]
        kept = []
        for row in rows:
            if all(np.linalg.norm(row - other) > SAME_SHOT_DISTANCE for other in kept):
                kept.append(row)
        return len(kept)


def to_distance(similarity):
    return np.sqrt(np.maximum(2.0 - 2.0 * similarity, 0.0))


def _unit_rows(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True) if rows.size else np.ones((len(rows), 1), np.float32)
    return (rows / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def decide(probes, gallery: Gallery, roster_ids, qualities, point: OperatingPoint) -> list[FaceDecision]:
    """One FaceDecision per probe face, in order.

    gallery: every enrolled student of the school; roster_ids: the students of this course
    (None = the whole gallery); qualities: one quality.FaceQuality per face, or None.

    Reasons: "strong" (mark); "few_photos", "near_roster_student", "near_other_course",
    "small_face", "blurred", "turned" (suggest: would have been a mark but for that rule) or
    "grey_zone" (beyond the mark distance); "beyond_threshold", "no_gallery", "taken" (unknown).

    One face per student, greedy by ascending distance: a face only ever proposes its own
    nearest roster student, the closest face wins a contested student, and the loser stays
    unknown rather than being pushed onto its second choice, which would be weaker evidence.
    """
    if len(probes) == 0:
        return []  # np.atleast_2d would make one empty probe of an empty list
    sims = gallery.similarities(probes)
    n_faces = len(sims)
    in_roster = gallery.mask_of(roster_ids)
    if n_faces == 0:
        return []
    if not in_roster.any():
        return [FaceDecision(UNKNOWN, None, None, None, None, None, 0, "no_gallery") for _ in range(n_faces)]
    # Per-student distances are needed for the roster only; of the rest of the school only the
    # nearest row matters (the rival), and a row maximum needs no per-student reduction.
    roster_rows = gallery.rows_of(in_roster)
    roster_students = np.flatnonzero(in_roster)
    roster_distances = to_distance(
        np.maximum.reduceat(
            sims[:, roster_rows], np.searchsorted(gallery._row_student[roster_rows], roster_students), axis=1
        )
    )
    order = np.argsort(roster_distances, axis=1)
    faces = np.arange(n_faces)
    best = roster_distances[faces, order[:, 0]]
    second = roster_distances[faces, order[:, 1]] if len(roster_students) > 1 else np.full(n_faces, np.inf)
    rival_row = None
    if len(roster_rows) < len(gallery):
        sims[:, roster_rows] = -np.inf  # our own temporary: hide the roster from the rival search
        rival_row = sims.argmax(axis=1)
        rival_distance = to_distance(sims[faces, rival_row])

    proposals = []
    for f in range(n_faces):
        student = gallery.students[roster_students[order[f, 0]]]
        facts = dict(
            student=student,
            distance=float(best[f]),
            second_distance=float(second[f]) if np.isfinite(second[f]) else None,
            rival=gallery.students[gallery._row_student[rival_row[f]]] if rival_row is not None else None,
            rival_distance=float(rival_distance[f]) if rival_row is not None else None,
            photos=gallery.photo_count(student),
        )
        quality = qualities[f] if qualities is not None else None
        kind, reason = _tier(facts, quality, point)
        proposals.append((facts["distance"], f, kind, reason, facts))

    decisions = [None] * n_faces
    taken = set()
    for _distance, f, kind, reason, facts in sorted(proposals, key=lambda p: (p[0], p[1])):
        if kind != UNKNOWN and facts["student"] in taken:
            kind, reason = UNKNOWN, "taken"
        elif kind != UNKNOWN:
            taken.add(facts["student"])
        decisions[f] = FaceDecision(kind, reason=reason, **facts)
    return decisions


def _tier(facts, quality, point: OperatingPoint) -> tuple[str, str]:
    distance = facts["distance"]
    if distance > point.suggest_distance:
        return UNKNOWN, "beyond_threshold"
    if distance > point.mark_distance:
        return SUGGEST, "grey_zone"
    if distance > point.mark_distance_for(facts["photos"]):
        return SUGGEST, "few_photos"
    second, rival = facts["second_distance"], facts["rival_distance"]
    if second is not None and second - distance < point.roster_margin:
        return SUGGEST, "near_roster_student"
    if rival is not None and rival - distance < point.school_margin:
        return SUGGEST, "near_other_course"
    if quality is not None:
        if quality.size_px < point.min_face_px:
            return SUGGEST, "small_face"
        if quality.sharpness < point.min_sharpness:
            return SUGGEST, "blurred"
        if quality.yaw > point.max_yaw:
            return SUGGEST, "turned"
    return MARK, "strong"
