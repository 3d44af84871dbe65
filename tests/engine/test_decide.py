"""The tiers of match.decide() on synthetic vectors, and the school-scale gallery."""

import dataclasses

import numpy as np
import pytest

from recognition.engine import match
from recognition.engine.calibration import load_operating_point, operating_point, single_threshold
from recognition.engine.match import MARK, SUGGEST, UNKNOWN, Gallery, OperatingPoint, decide, to_distance
from recognition.engine.quality import FaceQuality

POINT = OperatingPoint(
    mark_distance=0.31,
    few_photos=3,
    few_photos_mark_distance=0.28,
    suggest_distance=0.365,
    roster_margin=0.06,
    school_margin=0.06,
    min_face_px=40.0,
    min_sharpness=150.0,
    max_yaw=0.9,
)
GOOD = FaceQuality(size_px=90.0, sharpness=900.0, yaw=0.1)


def at_distance(anchor, distance, seed):
    """A unit vector exactly `distance` (Euclidean) from the unit vector `anchor`."""
    rng = np.random.default_rng(seed)
    other = rng.standard_normal(anchor.shape)
    other -= other.dot(anchor) * anchor
    other /= np.linalg.norm(other)
    cos = 1 - distance**2 / 2
    return (cos * anchor + np.sqrt(1 - cos**2) * other).astype(np.float32)


def basis(i, dim=64):
    v = np.zeros(dim, np.float32)
    v[i] = 1
    return v


def school(photos_of_ada=5):
    """Ada (many photos or few), Bob, both in the course; Cy, another course's student."""
    rows, labels = [], []
    for k in range(photos_of_ada):
        rows.append(at_distance(basis(0), 0.15, 100 + k))
        labels.append("ada")
    for k in range(5):
        rows.append(at_distance(basis(1), 0.15, 200 + k))
        labels.append("bob")
        rows.append(at_distance(basis(2), 0.15, 300 + k))
        labels.append("cy")
    return Gallery(np.stack(rows), labels)


def nearest_to(gallery, student, distance, seed=7):
    """A probe `distance` from the student's first photo (no other photo of theirs is nearer)."""
    first = gallery.embeddings[gallery.rows_of(gallery.mask_of([student]))[0]]
    probe = at_distance(first, distance, seed)
    got = gallery.student_distances(probe[None])[0][gallery.students.index(student)]
    assert got <= distance + 1e-5
    return probe


def test_a_close_face_of_a_well_enrolled_student_is_marked():
    gallery = school()
    (d,) = decide(nearest_to(gallery, "ada", 0.20)[None], gallery, ["ada", "bob"], [GOOD], POINT)
    assert (d.kind, d.student, d.reason) == (MARK, "ada", "strong") and d.marked_student == "ada"
    assert d.rival == "cy" and d.rival_distance > 1.0


def test_a_grey_zone_stranger_becomes_a_suggestion_not_a_mark():
    gallery = school()
    probe = nearest_to(gallery, "ada", 0.34)
    (d,) = decide(probe[None], gallery, ["ada", "bob"], [GOOD], POINT)
    assert d.kind == SUGGEST and d.reason == "grey_zone"
    assert d.marked_student is None and d.suggested_student == "ada" and d.distance == pytest.approx(0.34, abs=1e-4)


def test_beyond_the_suggestion_distance_the_face_is_unknown():
    gallery = school()
    (d,) = decide(nearest_to(gallery, "ada", 0.40)[None], gallery, ["ada", "bob"], [GOOD], POINT)
    assert (d.kind, d.reason) == (UNKNOWN, "beyond_threshold") and d.suggested_student is None


def test_a_face_nearer_a_student_of_another_course_is_not_auto_marked():
    gallery = school()
    # Between Ada and Cy, a little nearer Cy, who is not on this roster.
    ada, cy = gallery.embeddings[0], gallery.embeddings[gallery.rows_of(gallery.mask_of(["cy"]))[0]]
    probe = ada + 1.02 * cy
    probe /= np.linalg.norm(probe)
    (alone,) = decide(
        probe[None],
        Gallery(gallery.embeddings[:5], ["ada"] * 5),
        ["ada"],
        [GOOD],
        dataclasses.replace(POINT, mark_distance=2.0, few_photos_mark_distance=2.0, suggest_distance=2.0),
    )
    assert alone.kind == MARK  # with only the roster in view it would be marked
    (d,) = decide(
        probe[None],
        gallery,
        ["ada", "bob"],
        [GOOD],
        dataclasses.replace(POINT, mark_distance=2.0, few_photos_mark_distance=2.0, suggest_distance=2.0),
    )
    assert d.student == "ada" and d.rival == "cy" and d.rival_distance < d.distance
    assert (d.kind, d.reason) == (SUGGEST, "near_other_course")


def test_a_face_nearly_as_near_to_a_second_roster_student_is_not_auto_marked():
    gallery = school()
    probe = gallery.embeddings[0] + 0.98 * gallery.embeddings[gallery.rows_of(gallery.mask_of(["bob"]))[0]]
    probe /= np.linalg.norm(probe)
    wide = dataclasses.replace(POINT, mark_distance=2.0, few_photos_mark_distance=2.0, suggest_distance=2.0)
    (d,) = decide(probe[None], gallery, ["ada", "bob"], [GOOD], wide)
    assert (d.kind, d.reason) == (SUGGEST, "near_roster_student")


def test_a_student_with_few_photos_needs_stronger_evidence():
    distance = 0.295  # under the mark distance, over the few-photos one
    many, few = school(photos_of_ada=5), school(photos_of_ada=2)
    (with_many,) = decide(nearest_to(many, "ada", distance)[None], many, ["ada", "bob"], [GOOD], POINT)
    (with_few,) = decide(nearest_to(few, "ada", distance)[None], few, ["ada", "bob"], [GOOD], POINT)
    assert with_many.kind == MARK and with_many.photos == 5
    assert (with_few.kind, with_few.reason, with_few.photos) == (SUGGEST, "few_photos", 2)
    (close,) = decide(nearest_to(few, "ada", 0.25)[None], few, ["ada", "bob"], [GOOD], POINT)
    assert close.kind == MARK


def test_photos_of_the_same_shot_count_once():
    shot = at_distance(basis(0), 0.15, 1)
    twins = np.stack([shot, at_distance(shot, 0.05, 2), at_distance(shot, 0.05, 3), at_distance(shot, 0.3, 4)])
    gallery = Gallery(twins, ["ada"] * 4)
    assert gallery.photo_count("ada") == 2


@pytest.mark.parametrize(
    "quality, reason",
    [
        (FaceQuality(size_px=30.0, sharpness=900.0, yaw=0.1), "small_face"),
        (FaceQuality(size_px=90.0, sharpness=80.0, yaw=0.1), "blurred"),
        (FaceQuality(size_px=90.0, sharpness=900.0, yaw=0.95), "turned"),
    ],
)
def test_a_poor_face_is_suggested_not_marked(quality, reason):
    gallery = school()
    (d,) = decide(nearest_to(gallery, "ada", 0.20)[None], gallery, ["ada", "bob"], [quality], POINT)
    assert (d.kind, d.reason) == (SUGGEST, reason)


def test_one_face_per_student_the_closer_face_wins():
    gallery = school()
    probes = np.stack([nearest_to(gallery, "ada", 0.25, seed=1), nearest_to(gallery, "ada", 0.20, seed=2)])
    far, near = decide(probes, gallery, ["ada", "bob"], [GOOD, GOOD], POINT)
    assert (near.kind, far.kind, far.reason) == (MARK, UNKNOWN, "taken") and far.student == "ada"


def test_no_roster_student_enrolled_and_no_faces():
    gallery = school()
    (d,) = decide(np.ones((1, 64)), gallery, ["nobody"], None, POINT)
    assert (d.kind, d.reason, d.student) == (UNKNOWN, "no_gallery", None)
    assert decide(np.zeros((0, 64)), gallery, ["ada"], [], POINT) == []
    assert decide(np.ones((2, 64)), Gallery([], []), None, None, POINT)[0].kind == UNKNOWN


def test_vectorised_distances_equal_the_naive_ones():
    rng = np.random.default_rng(0)
    rows = rng.standard_normal((300, 32)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    labels = rng.integers(0, 70, size=300).tolist()  # students in no order, 1-10 photos each
    probes = rng.standard_normal((9, 32)).astype(np.float32)
    probes /= np.linalg.norm(probes, axis=1, keepdims=True)
    gallery = Gallery(rows, labels)
    naive = np.array(
        [
            [min(np.linalg.norm(p - r) for r, who in zip(rows, labels) if who == s) for s in gallery.students]
            for p in probes
        ]
    )
    np.testing.assert_allclose(gallery.student_distances(probes), naive, atol=2e-4)
    roster = gallery.students[:20]
    decisions = decide(probes, gallery, roster, None, single_threshold(2.0))
    for f, d in enumerate(decisions):
        in_roster = naive[f, :20]
        assert d.student == roster[int(in_roster.argmin())]
        assert d.distance == pytest.approx(in_roster.min(), abs=2e-4)
        assert d.second_distance == pytest.approx(np.sort(in_roster)[1], abs=2e-4)
        assert d.rival == gallery.students[20 + int(naive[f, 20:].argmin())]
        assert d.rival_distance == pytest.approx(naive[f, 20:].min(), abs=2e-4)


def test_the_school_searched_block_by_block_finds_what_one_product_finds(monkeypatch):
    """The rival search takes the school's product in blocks; blocks of 256 rows here (the
    smallest), so 3,000 rows are 12 blocks, with the roster's rows and an exact tie in several."""
    monkeypatch.setattr(match, "SEARCH_BLOCK_VALUES", 1)
    rng = np.random.default_rng(1)
    rows = rng.standard_normal((3000, 16)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    labels = rng.integers(0, 600, size=3000).tolist()
    probes = rows[[5, 1700]] + 0.01  # near two rows; then a copy of each a block apart, a tie
    rows = np.concatenate([rows, rows[[5, 1700]], rows[[5, 1700]]])
    labels += [900, 901, 902, 903]
    gallery = Gallery(rows, labels)
    roster = gallery.students[::7]
    decisions = decide(probes, gallery, roster, None, single_threshold(2.0))

    sims = gallery.similarities(probes)
    in_roster = gallery.mask_of(roster)[gallery._row_student]
    distances = to_distance(np.where(in_roster, sims, -np.inf))
    rival_row = np.where(in_roster, -np.inf, sims).argmax(axis=1)  # the first of equals
    for f, d in enumerate(decisions):
        nearest = distances[f].argmin()
        assert d.student == gallery.students[gallery._row_student[nearest]]
        assert d.distance == pytest.approx(distances[f, nearest], abs=1e-5)
        assert d.rival == gallery.students[gallery._row_student[rival_row[f]]]
        assert d.rival_distance == pytest.approx(float(to_distance(sims[f, rival_row[f]])), abs=1e-5)


def test_the_dlib_calibration_is_on_record_and_an_uncalibrated_model_needs_a_threshold(tmp_path):
    point = load_operating_point("dlib_resnet_v1_flip")
    assert point.few_photos_mark_distance < point.mark_distance < point.suggest_distance
    assert operating_point("dlib_resnet_v1_flip", 0.30).mark_distance == 0.30
    from recognition.engine.calibration import NotCalibrated

    with pytest.raises(NotCalibrated, match="bench/evaluate.py"):
        operating_point("facenet_vggface2", directory=tmp_path)
    assert operating_point("facenet_vggface2", 0.9, directory=tmp_path) == single_threshold(0.9)
