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
The rules depend on the face's size (a Calibration holds one Band of rules per size range): a
30 px face's descriptor drifts from the same person's 150 px enrolment face for reasons that are
not identity, so each band has its own distances, measured on faces degraded to its sizes, and
compares the face with the enrolment photos shrunk to the band's size (Gallery.at). Several
views of one person (camera snapshots of a lesson) are decided together by decide_people().
Distances are Euclidean between L2-normalised embeddings.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

MARK, SUGGEST, UNKNOWN = "mark", "suggest", "unknown"
# Two enrolment photos of one student this close are the same shot twice (the
# dev set's near-duplicate it removed was at 0.087 with dlib): they count as one.
SAME_SHOT_DISTANCE = 0.10
# Similarities per block of the school-wide search (float32): a block stays in the CPU's cache
# while its maximum is taken (bench/match_speed.py, 40 faces: blocks of 2,048-8,192 rows alike,
# 16,384 twice as slow).
SEARCH_BLOCK_VALUES = 40 * 8192


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


@dataclass(frozen=True)
class Band:
    """The rules for faces of one size range. point.min_face_px is where the band starts (a face
    at least that large and smaller than the band above); in the smallest band it is also the
    gate under which a face is only suggested."""

    point: OperatingPoint  # one face
    person_point: OperatingPoint  # the mean of several views of one person (decide_people)
    gallery_px: int = 0  # compare with the enrolment faces shrunk to this size (0: as they are)


@dataclass(frozen=True)
class Calibration:
    """The rules of one embedder, per face-size band (calibration.py sets them)."""

    bands: tuple[Band, ...]  # largest faces first

    @classmethod
    def single(cls, point: OperatingPoint) -> Calibration:
        """One set of rules for every face size, person or face, against the photos as they are."""
        return cls((Band(point, point, 0),))

    @property
    def base(self) -> OperatingPoint:
        """The rules of the largest faces: what an enrolment photo is checked against."""
        return self.bands[0].point

    @property
    def gallery_sizes(self) -> tuple[int, ...]:
        """The face sizes the enrolment photos are embedded at: 0 (as they are) and each band's."""
        return tuple(sorted({0, *(band.gallery_px for band in self.bands)}))

    def band_of(self, quality) -> Band:
        """The band of a face of this quality (None: of unknown size, the largest faces' rules)."""
        if quality is None:
            return self.bands[0]
        for band in self.bands:
            if quality.size_px >= band.point.min_face_px:
                return band
        return self.bands[-1]


class Gallery:
    """Enrolled embeddings (N, dim), one label (student id) per row; a student may have several
    rows (one per enrolment photo). Rows and probes are L2-normalised here (the embedders' output
    already is). Rows are kept sorted by student so the per-student minimum distance is one
    np.maximum.reduceat of similarities over the columns of one matrix product.

    shrunk: {face size in px: Gallery of the same photos embedded at that size} (from_rows);
    at(size) gives the one to compare a face of that band with."""

    def __init__(self, embeddings, labels, shrunk=None):
        self.shrunk = dict(shrunk or {})
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
        # A worker keeps one Gallery for every photo until the enrolments change
        # (processing.SchoolGallery): each student's count is worked out once.
        self._photo_counts = {}

    def __len__(self) -> int:
        return len(self._row_student)

    @classmethod
    def from_rows(cls, rows, sizes=(0,)) -> Gallery:
        """rows: (student, photo, size_px, vector), a photo's vectors at each size it was embedded
        at (0: the photo as it is). A photo not (yet) embedded at a size stands there as it is,
        so every size sees every student."""
        by_photo = {}
        for student, photo, size, vector in rows:
            by_photo.setdefault((student, photo), {})[size] = vector
        photos = [(key, sized) for key, sized in by_photo.items() if 0 in sized]
        labels = [student for (student, _), _ in photos]

        def at(size):
            return [sized.get(size, sized[0]) for _, sized in photos]

        shrunk = {size: cls(at(size), labels) for size in sizes if size}
        return cls(at(0), labels, shrunk)

    def at(self, size: int) -> Gallery:
        """The photos embedded at this face size (0 or one not embedded: as they are)."""
        return self.shrunk.get(size, self)

    def similarities(self, probes) -> np.ndarray:
        """(F, N) cosine similarity of each probe to each row: ||a - b||^2 = 2 - 2 a.b for unit
        rows, so every distance of a photo to the school is this one matrix product."""
        probes = _unit_rows(np.atleast_2d(np.asarray(probes, dtype=np.float32)))
        if len(self) == 0:
            return np.zeros((len(probes), 0), dtype=np.float32)
        return probes @ self.embeddings.T

    def roster_and_rival(self, probes, roster_rows) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Similarities of unit probes to the roster's rows, (F, R) in roster_rows' (ascending)
        order, and per probe the nearest other row and its similarity (None when every row is the
        roster's). The school's product is taken in blocks of SEARCH_BLOCK_VALUES similarities,
        each block's maximum while it is in the CPU's cache: the (F, N) matrix is never written
        out to memory, which the bare product pays for (16 MB for 40 faces x 100,000 rows)."""
        n_faces, n_rows = len(probes), len(self)
        if len(roster_rows) == n_rows:
            return probes @ self.embeddings.T, None, None
        roster = np.empty((n_faces, len(roster_rows)), np.float32)
        faces = np.arange(n_faces)
        best = np.full(n_faces, -np.inf, np.float32)
        best_row = np.zeros(n_faces, np.int64)
        block = min(max(SEARCH_BLOCK_VALUES // n_faces, 256), n_rows)
        scratch = np.empty(n_faces * block, np.float32)
        block_starts = range(0, n_rows, block)
        roster_bounds = np.searchsorted(roster_rows, [*block_starts, n_rows])
        for start, lo, hi in zip(block_starts, roster_bounds[:-1], roster_bounds[1:]):
            stop = min(start + block, n_rows)
            sims = scratch[: n_faces * (stop - start)].reshape(n_faces, stop - start)  # contiguous for BLAS
            np.matmul(probes, self.embeddings[start:stop].T, out=sims)
            if hi > lo:
                inside = roster_rows[lo:hi] - start
                roster[:, lo:hi] = sims[:, inside]
                sims[:, inside] = -np.inf
            top_row = sims.argmax(axis=1)
            top = sims[faces, top_row]
            nearer = top > best  # strictly: on a tie the first row wins, as one argmax over all rows
            best[nearer] = top[nearer]
            best_row[nearer] = top_row[nearer] + start
        return roster, best_row, best

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
        if student not in self._photo_counts:
            s = self._student_index[student]
            kept = []
            for row in self.embeddings[self._starts[s] : self._ends[s]]:
                if all(np.linalg.norm(row - other) > SAME_SHOT_DISTANCE for other in kept):
                    kept.append(row)
            self._photo_counts[student] = len(kept)
        return self._photo_counts[student]


def to_distance(similarity):
    return np.sqrt(np.maximum(2.0 - 2.0 * similarity, 0.0))


def _unit_rows(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True) if rows.size else np.ones((len(rows), 1), np.float32)
    return (rows / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def decide(probes, gallery: Gallery, roster_ids, qualities, rules) -> list[FaceDecision]:
    """One FaceDecision per probe face, in order.

    gallery: every enrolled student of the school; roster_ids: the students of this course
    (None = the whole gallery); qualities: one quality.FaceQuality per face, or None (then every
    face is taken as a large one); rules: a Calibration, or one OperatingPoint for every size.
    Each face is decided by the rules of its size band, against the gallery at the band's size.

    Reasons: "strong" (mark); "few_photos", "near_roster_student", "near_other_course",
    "small_face", "blurred", "turned" (suggest: would have been a mark but for that rule) or
    "grey_zone" (beyond the mark distance); "beyond_threshold", "no_gallery", "taken" (unknown).

    One face per student, greedy by ascending distance: a face only ever proposes its own
    nearest roster student, the closest face wins a contested student, and the loser stays
    unknown rather than being pushed onto its second choice, which would be weaker evidence.
    """
    if len(probes) == 0:
        return []  # np.atleast_2d would make one empty probe of an empty list
    vectors = _unit_rows(np.atleast_2d(np.asarray(probes, dtype=np.float32)))
    calibration = rules if isinstance(rules, Calibration) else Calibration.single(rules)
    qualities = list(qualities) if qualities is not None else [None] * len(vectors)
    bands = [calibration.band_of(quality) for quality in qualities]
    return _decide(vectors, qualities, bands, [band.point for band in bands], gallery, roster_ids)


def decide_people(people, gallery: Gallery, roster_ids, calibration: Calibration) -> list[FaceDecision]:
    """One FaceDecision per person, each seen in one or more photos (camera snapshots of a lesson).

    people: [(vectors, qualities)] per person: (k, dim) descriptors of their k faces and one
    quality.FaceQuality per face (required: without their sizes small faces would be judged by
    the rules of large ones; DetectedFace.quality() rebuilds a stored face's). The evidence is
    the mean of the person's unit
    descriptors, at the band of their median face size, against the gallery at that size.
    Several views are decided by the band's person rules, calibrated on the means of many
    views of held-out people (calibration.person_point): repeated views of one person are not
    independent evidence, so a look-alike stranger seen in a hundred frames is no nearer to
    being marked than in the number of views the rules were measured on. A person seen once is
    decided exactly as decide() decides that face. One person per student, as in decide().

    The views must be one person (a grouping that may merge two people must not call this).
    """
    if not people:
        return []
    means, qualities, bands, points = [], [], [], []
    for vectors, person_qualities in people:
        rows = _unit_rows(np.atleast_2d(np.asarray(vectors, dtype=np.float32)))
        if len(rows) == 0 or len(person_qualities) != len(rows) or None in person_qualities:
            raise ValueError("a person needs at least one face, and one quality per face")
        quality = typical_quality(person_qualities)
        band = calibration.band_of(quality)
        means.append(rows.mean(axis=0))
        qualities.append(quality)
        bands.append(band)
        points.append(band.person_point if len(rows) > 1 else band.point)
    return _decide(_unit_rows(np.stack(means)), qualities, bands, points, gallery, roster_ids)


def decide_person(vectors, qualities, gallery: Gallery, roster_ids, calibration: Calibration) -> FaceDecision:
    """decide_people() for one person: (k, dim) descriptors of their k faces, k qualities."""
    return decide_people([(vectors, qualities)], gallery, roster_ids, calibration)[0]


def typical_quality(qualities):
    """The median face of a person's views: the band and gates of the evidence as a whole."""
    return dataclasses.replace(
        qualities[0],
        size_px=float(np.median([q.size_px for q in qualities])),
        sharpness=float(np.median([q.sharpness for q in qualities])),
        yaw=float(np.median([q.yaw for q in qualities])),
    )


def _decide(vectors, qualities, bands, points, gallery: Gallery, roster_ids) -> list[FaceDecision]:
    """The tiers of unit vectors, each with its band (which gallery size) and rules, then one
    face per student."""
    n_faces = len(vectors)
    in_roster = gallery.mask_of(roster_ids)
    if not in_roster.any():
        return [FaceDecision(UNKNOWN, None, None, None, None, None, 0, "no_gallery") for _ in range(n_faces)]
    facts = [None] * n_faces
    for size in {band.gallery_px for band in bands}:
        faces = [f for f in range(n_faces) if bands[f].gallery_px == size]
        for f, fact in zip(faces, _evidence(vectors[faces], gallery.at(size), in_roster)):
            facts[f] = dict(fact, photos=gallery.photo_count(fact["student"]))
    proposals = []
    for f in range(n_faces):
        kind, reason = _tier(facts[f], qualities[f], points[f])
        proposals.append((facts[f]["distance"], f, kind, reason, facts[f]))

    decisions = [None] * n_faces
    taken = set()
    for _distance, f, kind, reason, fact in sorted(proposals, key=lambda p: (p[0], p[1])):
        if kind != UNKNOWN and fact["student"] in taken:
            kind, reason = UNKNOWN, "taken"
        elif kind != UNKNOWN:
            taken.add(fact["student"])
        decisions[f] = FaceDecision(kind, reason=reason, **fact)
    return decisions


def _evidence(vectors, gallery: Gallery, in_roster) -> list[dict]:
    """Per unit vector: the nearest roster student, the distances to them and to the next one,
    and the nearest student outside the roster (the rival)."""
    n_faces = len(vectors)
    # Per-student distances are needed for the roster only; of the rest of the school only the
    # nearest row matters (the rival), and a row maximum needs no per-student reduction.
    roster_rows = gallery.rows_of(in_roster)
    roster_students = np.flatnonzero(in_roster)
    roster_sims, rival_row, rival_sim = gallery.roster_and_rival(vectors, roster_rows)
    roster_distances = to_distance(
        np.maximum.reduceat(roster_sims, np.searchsorted(gallery._row_student[roster_rows], roster_students), axis=1)
    )
    order = np.argsort(roster_distances, axis=1)
    faces = np.arange(n_faces)
    best = roster_distances[faces, order[:, 0]]
    second = roster_distances[faces, order[:, 1]] if len(roster_students) > 1 else np.full(n_faces, np.inf)
    rival_distance = to_distance(rival_sim) if rival_row is not None else None
    return [
        dict(
            student=gallery.students[roster_students[order[f, 0]]],
            distance=float(best[f]),
            second_distance=float(second[f]) if np.isfinite(second[f]) else None,
            rival=gallery.students[gallery._row_student[rival_row[f]]] if rival_row is not None else None,
            rival_distance=float(rival_distance[f]) if rival_row is not None else None,
        )
        for f in range(n_faces)
    ]


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
