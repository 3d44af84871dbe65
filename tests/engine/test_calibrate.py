"""How the engine sets its rules (recognition/engine/calibration.py), on small synthetic vectors:
the folds, the fitted normals, leaving a face's own photo out, the person rules' trend to many
views, and the file on record. What the rules give on real faces is bench/evaluate.py."""

import dataclasses
import statistics

import numpy as np
import pytest

from recognition.engine.calibration import (
    MARK_FALSE_ACCEPT,
    Sample,
    _at_infinitely_many,
    calibrate,
    calibration,
    identity_folds,
    load_calibration,
    write_calibration,
)
from recognition.engine.match import Band, Calibration
from recognition.engine.quality import FaceQuality
from tests.engine.test_decide import POINT, at_distance

LAYOUT = ((40, 0), (20, 24))


def unit(rng, dim=32):
    v = rng.standard_normal(dim)
    return (v / np.linalg.norm(v)).astype(np.float32)


def synthetic_set(people=12, photos=4, views=3, seed=0):
    """Each person a direction; each photo near it; each photo's large face as it is, and a
    series of small, noisier views of it.
    Enrolment: every photo as it is (0) and shrunk to 24 px."""
    rng = np.random.default_rng(seed)
    samples, enrolment = [], []
    for p in range(people):
        centre = unit(rng)
        for k in range(photos):
            photo = f"p{p}/{k}"
            face = at_distance(centre, 0.25, 10_000 + seed + 100 * p + k)
            enrolment += [(f"p{p}", photo, 0, face), (f"p{p}", photo, 24, at_distance(face, 0.1, 90_000 + 100 * p + k))]
            samples.append(Sample(f"p{p}", photo, face, FaceQuality(90.0, 300.0 + k, 0.1)))
            for v in range(views):
                small = at_distance(face, 0.2, 20_000 + 1000 * p + 10 * k + v)
                samples.append(Sample(f"p{p}", photo, small, FaceQuality(22.0, 20.0 + k, 0.2), "small"))
    return samples, enrolment


def nearest_by_person(vector, rows, own_photo):
    """Naively: {person: distance to their nearest row}, the face's own photo left out."""
    nearest = {}
    for person, photo, vector_row in rows:
        if photo != own_photo:
            d = float(np.linalg.norm(vector - vector_row))
            nearest[person] = min(nearest.get(person, np.inf), d)
    return nearest


def test_every_identity_is_held_out_exactly_once_and_the_folds_do_not_change():
    persons = [f"p{k}" for k in range(23)]
    folds = identity_folds(persons)
    assert sorted(p for fold in folds for p in fold) == sorted(persons)
    assert len(folds) == 5 and all(4 <= len(fold) <= 5 for fold in folds)
    assert identity_folds(reversed(persons)) == folds


def test_the_mark_distance_is_read_off_the_impostor_normal_with_each_face_s_own_photo_left_out():
    samples, enrolment = synthetic_set()
    rules, evidence = calibrate(samples, enrolment, layout=LAYOUT)
    large = rules.bands[0]
    faces = [s for s in samples if s.quality.size_px >= 40]
    rows = [(p, photo, v) for p, photo, size, v in enrolment if size == 0]
    genuine, impostor = [], []
    for face in faces:
        for person, distance in nearest_by_person(face.vector, rows, face.photo).items():
            (genuine if person == face.person else impostor).append(distance)
    fit = statistics.NormalDist.from_samples(impostor)
    expected = fit.mean + statistics.NormalDist().inv_cdf(MARK_FALSE_ACCEPT) * fit.stdev
    assert large.point.mark_distance == pytest.approx(expected, abs=1e-3)
    assert large.point.roster_margin == pytest.approx(fit.stdev, abs=1e-3)
    # A face is never compared with its own photo: every genuine distance is to another photo.
    assert min(genuine) > 0.1 and evidence["bands"][0]["fitted"]["genuine_n"] == len(genuine)
    assert evidence["bands"][0]["fitted"]["impostor_n"] == len(impostor)


def test_each_size_band_meets_the_gallery_at_its_size():
    samples, enrolment = synthetic_set()
    rules, evidence = calibrate(samples, enrolment, layout=LAYOUT)
    assert [(b.point.min_face_px, b.gallery_px) for b in rules.bands] == [(40, 0), (20, 24)]
    assert rules.gallery_sizes == (0, 24)
    assert evidence["bands"][1]["gallery_px"] == 24 and evidence["bands"][1]["faces"] == 12 * 4 * 3
    small = [s for s in samples if s.quality.size_px < 40]

    def genuine_mean(size):
        rows = [(p, photo, v) for p, photo, row_size, v in enrolment if row_size == size]
        return np.mean([nearest_by_person(s.vector, rows, s.photo)[s.person] for s in small])

    # The small faces were measured against the photos shrunk to 24 px, not as they are.
    assert evidence["bands"][1]["fitted"]["genuine_mean"] == pytest.approx(genuine_mean(24), abs=1e-3)
    assert abs(genuine_mean(24) - genuine_mean(0)) > 0.01


def test_the_person_rules_are_measured_on_the_means_of_one_to_n_views():
    samples, enrolment = synthetic_set(views=4)
    rules, evidence = calibrate(samples, enrolment, layout=LAYOUT)
    per_views = evidence["bands"][1]["person_views"]
    assert [row["views"] for row in per_views] == [1, 2, 3, 4]
    person = rules.bands[1].person_point
    assert person.mark_distance <= min(row["mark_distance"] for row in per_views)
    # The photos as they are have no series: their person rules are the single-face ones.
    assert rules.bands[0].person_point == rules.bands[0].point


def test_the_person_mark_distance_follows_the_trend_to_infinitely_many_views():
    fits = [(n, dataclasses.replace(POINT, mark_distance=0.25 + 0.04 / n)) for n in range(1, 7)]
    assert _at_infinitely_many(fits, "mark_distance") == pytest.approx(0.25, abs=1e-3)
    # A trend that rises again is not trusted: the strictest measured value stands.
    flat = [(n, dataclasses.replace(POINT, mark_distance=0.30 - 0.01 * (n == 2))) for n in range(1, 4)]
    assert _at_infinitely_many(flat, "mark_distance") == pytest.approx(0.29)


def test_the_calibration_file_round_trips_and_an_admin_threshold_never_loosens_a_small_band(tmp_path):
    small = dataclasses.replace(POINT, mark_distance=0.27, few_photos_mark_distance=0.24, min_face_px=24.0)
    rules = Calibration((Band(POINT, POINT, 0), Band(small, small, 32)))
    write_calibration("model_x", rules, {"why": "test"}, tmp_path)
    assert load_calibration("model_x", tmp_path) == rules

    looser = calibration("model_x", 0.40, tmp_path)
    assert looser.base.mark_distance == 0.40 and looser.bands[1].point.mark_distance == 0.27
    stricter = calibration("model_x", 0.20, tmp_path)
    assert [b.point.mark_distance for b in stricter.bands] == [0.20, 0.20]
    assert [b.person_point.few_photos_mark_distance for b in stricter.bands] == [0.20, 0.20]
    single = calibration("model_y", 0.35, tmp_path)  # not calibrated: one distance for every face
    assert single.bands[0].point.mark_distance == 0.35 and single.gallery_sizes == (0,)
