"""Rules per face size and decisions per person, on small synthetic vectors (unit tests of the
rules' mechanics: which band, which gallery, which rules, the mean of views). What the rules are
worth on real faces is tests/engine/test_small_faces.py and bench/evaluate.py."""

import dataclasses

import numpy as np
import pytest

from recognition.engine.match import (
    MARK,
    SUGGEST,
    UNKNOWN,
    Band,
    Calibration,
    Gallery,
    decide,
    decide_people,
    decide_person,
)
from recognition.engine.quality import FaceQuality
from tests.engine.test_decide import POINT, at_distance, basis

SMALL = dataclasses.replace(
    POINT,
    mark_distance=0.27,
    few_photos_mark_distance=0.25,
    suggest_distance=0.33,
    min_face_px=24.0,
    min_sharpness=20.0,
)
SMALL_PERSON = dataclasses.replace(SMALL, mark_distance=0.25, few_photos_mark_distance=0.23)
LARGE = dataclasses.replace(POINT, min_face_px=72.0)
CALIBRATION = Calibration((Band(LARGE, LARGE, 0), Band(SMALL, SMALL_PERSON, 32)))


def face(size, sharpness=900.0, yaw=0.1):
    return FaceQuality(size_px=float(size), sharpness=sharpness, yaw=yaw)


def school():
    """Ada and Bob in the course, Cy in another; five photos each, as they are (0) and shrunk
    to 32 px. Ada's shrunk photos lie apart from her sharp ones, as small faces' descriptors do."""
    rows = []
    for k in range(5):
        rows.append(("ada", f"a{k}", 0, at_distance(basis(0), 0.10, 100 + k)))
        rows.append(("ada", f"a{k}", 32, at_distance(basis(3), 0.10, 150 + k)))
        for student, axis in (("bob", 1), ("cy", 2)):
            rows.append((student, f"{student}{k}", 0, at_distance(basis(axis), 0.10, 200 + 10 * axis + k)))
    return Gallery.from_rows(rows, (0, 32))


def test_a_face_is_decided_by_the_rules_of_its_size_band():
    assert CALIBRATION.band_of(face(90)).point is LARGE
    assert CALIBRATION.band_of(face(72)).point is LARGE
    assert CALIBRATION.band_of(face(71.9)).point is SMALL
    assert CALIBRATION.band_of(face(20)).point is SMALL  # under every band: the smallest band's gate
    assert CALIBRATION.band_of(None).point is LARGE
    assert CALIBRATION.gallery_sizes == (0, 32)
    assert Calibration.single(POINT).gallery_sizes == (0,)


def test_a_small_face_meets_the_enrolment_photos_shrunk_to_its_size():
    gallery = school()
    small_ada = at_distance(basis(3), 0.12, 7)  # near Ada's shrunk photos, far from her sharp ones
    (small,) = decide(small_ada[None], gallery, ["ada", "bob"], [face(30)], CALIBRATION)
    (large,) = decide(small_ada[None], gallery, ["ada", "bob"], [face(90)], CALIBRATION)
    assert (small.kind, small.student, small.reason) == (MARK, "ada", "strong") and small.distance < 0.27
    assert large.kind == UNKNOWN and large.distance > 1.0


def test_under_the_smallest_band_a_face_is_only_suggested():
    gallery = school()
    probe = at_distance(basis(3), 0.12, 7)
    (d,) = decide(probe[None], gallery, ["ada"], [face(21)], CALIBRATION)
    assert (d.kind, d.reason) == (SUGGEST, "small_face")
    (blurred,) = decide(probe[None], gallery, ["ada"], [face(30, sharpness=10.0)], CALIBRATION)
    assert (blurred.kind, blurred.reason) == (SUGGEST, "blurred")


def test_a_photo_not_yet_embedded_at_a_size_stands_there_as_it_is():
    rows = [("ada", "p1", 0, basis(0)), ("ada", "p1", 32, basis(3)), ("bob", "p2", 0, basis(1))]
    gallery = Gallery.from_rows(rows, (0, 32))
    shrunk = gallery.at(32)
    assert shrunk.students == gallery.students == ["ada", "bob"]
    np.testing.assert_allclose(shrunk.embeddings, [basis(3), basis(1)])
    assert gallery.at(64) is gallery  # a size nobody was embedded at: the photos as they are
    assert len(Gallery.from_rows([("ada", "p1", 32, basis(3))], (0, 32))) == 0  # no photo as it is: not enrolled


def views_around(centre, distance, count, seed):
    """`count` unit vectors each `distance` from `centre`, in random directions: one person seen
    `count` times, each view with its own noise."""
    return np.stack([at_distance(centre, distance, seed + k) for k in range(count)])


def test_a_person_seen_once_is_decided_as_that_face():
    gallery = school()
    probe = at_distance(basis(3), 0.30, 11)
    (alone,) = decide(probe[None], gallery, ["ada", "bob"], [face(30)], CALIBRATION)
    person = decide_person(probe[None], [face(30)], gallery, ["ada", "bob"], CALIBRATION)
    assert person == alone


def test_views_of_one_student_together_mark_what_no_single_view_does():
    """Each view is 0.30 from Ada's shrunk photos (a suggestion); their noise is independent, so
    their mean lies near her: the person rules mark her."""
    gallery = school()
    views = views_around(gallery.at(32).embeddings[0], 0.30, 6, seed=20)
    singles = decide(views[:1], gallery, ["ada", "bob"], [face(30)], CALIBRATION)
    assert singles[0].kind == SUGGEST
    person = decide_person(views, [face(30)] * 6, gallery, ["ada", "bob"], CALIBRATION)
    assert (person.kind, person.student) == (MARK, "ada") and person.distance < SMALL_PERSON.mark_distance


@pytest.mark.parametrize("count", [1, 2, 5, 50, 500])
def test_many_views_of_one_look_alike_never_mark_him(count):
    """A stranger who looks like Ada: his own face (the centre of his views) is 0.26 from her
    photos: under a single face's 0.27, beyond the person rules' 0.25. However many frames of him
    arrive, the mean of his views converges to his face, never to hers: views are not votes, and
    the person rules are measured on means of many views."""
    gallery = school()
    ada = gallery.at(32).embeddings[0]
    him = at_distance(ada, 0.26, 3)
    views = views_around(him, 0.25, count, seed=40)
    person = decide_person(views, [face(30)] * count, gallery, ["ada", "bob"], CALIBRATION)
    assert person.student == "ada" and person.kind != MARK


def test_two_people_never_get_the_same_student_and_the_median_face_sets_the_band():
    gallery = school()
    near, nearer = (
        views_around(gallery.at(32).embeddings[0], 0.2, 3, 60),
        views_around(gallery.at(32).embeddings[1], 0.1, 3, 70),
    )
    # Mostly small views: the band of the median face, 30 px.
    far_decision, near_decision = decide_people(
        [(near, [face(30), face(28), face(90)]), (nearer, [face(30)] * 3)], gallery, ["ada", "bob"], CALIBRATION
    )
    assert (near_decision.kind, near_decision.student) == (MARK, "ada")
    assert (far_decision.kind, far_decision.reason, far_decision.student) == (UNKNOWN, "taken", "ada")
    with pytest.raises(ValueError):
        decide_people([(np.zeros((0, 64)), [])], gallery, None, CALIBRATION)
    with pytest.raises(ValueError, match="one quality per face"):  # without sizes: no band to judge by
        decide_people([(near, [None] * 3)], gallery, None, CALIBRATION)
