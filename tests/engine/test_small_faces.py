"""Small faces on real photos of the dev set, with the rules on record: enrolment photos embedded
at the bands' sizes, a small face meeting them at its size, and a class photo seen again and
again at ~25 px, as a room camera sends it. Its three unlabelled people are outside the dataset,
so no calibration has seen them: they are the held-out strangers."""

import csv

import numpy as np
import pytest

from bench.classroom import degrade, face_at_size, iou, random_view, rng_for, side
from recognition.engine.calibration import load_calibration
from recognition.engine.images import load_image
from recognition.engine.match import MARK, SUGGEST, Gallery, decide, decide_people
from recognition.engine.pipeline import (
    analyse_photo,
    embed_enrolment_photo,
    embed_enrolment_photo_at_sizes,
    shrink_to_face_size,
)
from recognition.engine.quality import face_qualities

CALIBRATION = load_calibration("dlib_resnet_v1_flip")
GROUP = "group/faceapi_bbt4.jpg"  # Raj, Sheldon, Bernadette and three people outside the set
CAST = ["BBT_Sheldon", "BBT_Raj", "BBT_Bernadette", "BBT_Howard", "BBT_Stuart"]


def photos(dataset, person):
    return sorted((dataset / "identities" / person).glob("*.jpg"))


def test_an_enrolment_photo_is_embedded_as_it_is_and_shrunk_to_each_size(portrait, detector, dlib_embedder):
    image = load_image(portrait)
    vectors = embed_enrolment_photo_at_sizes(image, detector, dlib_embedder, (0, 64, 26, 500))
    assert sorted(vectors) == [0, 26, 64, 500]
    np.testing.assert_allclose(vectors[0], embed_enrolment_photo(image, detector, dlib_embedder), atol=1e-6)
    np.testing.assert_array_equal(vectors[500], vectors[0])  # a face smaller than the size: as it is
    for size in (64, 26):
        assert np.linalg.norm(vectors[size]) == pytest.approx(1.0, abs=1e-4)
    # The shrunk faces drift from the sharp one, the smaller the more, and stay the same person.
    assert 0.02 < np.linalg.norm(vectors[64] - vectors[0]) < np.linalg.norm(vectors[26] - vectors[0]) < 0.3

    pixels = np.asarray(image)
    face = max(detector.detect(pixels), key=lambda f: f.area)
    small, moved = shrink_to_face_size(pixels, face, 26)
    assert side(moved.box) == pytest.approx(26, abs=0.5)
    found = max(detector.detect(small), key=lambda f: iou(f.box, moved.box))
    assert iou(found.box, moved.box) > 0.5 and side(found.box) == pytest.approx(26, rel=0.2)


def test_a_small_face_is_nearer_its_student_s_photos_shrunk_to_its_size(faces_dataset, detector, dlib_embedder):
    """Bush's photos 1-6 enrolled; photos 7-10 seen at 30 px (JPEG, blur) three times each: on
    average nearer his photos shrunk to 32 px than his photos as they are."""
    bush = photos(faces_dataset, "George_W_Bush")
    rows = []
    for k, path in enumerate(bush[:6]):
        sizes = embed_enrolment_photo_at_sizes(load_image(path), detector, dlib_embedder, (0, 32))
        rows += [("bush", k, size, vector) for size, vector in sizes.items()]
    gallery = Gallery.from_rows(rows, (0, 32))
    as_they_are, shrunk = [], []
    for path in bush[6:]:
        pixels = np.asarray(load_image(path))
        face = max(detector.detect(pixels), key=lambda f: f.area)
        for k in range(3):
            vector, _ = face_at_size(pixels, face.box, 30, rng_for("test", path.name, k), detector, dlib_embedder)
            as_they_are.append(gallery.student_distances(vector[None])[0, 0])
            shrunk.append(gallery.at(32).student_distances(vector[None])[0, 0])
    assert np.mean(shrunk) < np.mean(as_they_are) - 0.005


@pytest.fixture(scope="module")
def cast_gallery(faces_dataset, detector, dlib_embedder):
    """The five BBT identities enrolled with all their photos, at every gallery size on record."""
    rows = []
    for person in CAST:
        for path in photos(faces_dataset, person):
            sizes = embed_enrolment_photo_at_sizes(load_image(path), detector, dlib_embedder, CALIBRATION.gallery_sizes)
            rows += [(person, path.name, size, vector) for size, vector in sizes.items()]
    return Gallery.from_rows(rows, CALIBRATION.gallery_sizes)


def room_camera_snapshots(dataset, detector, embedder, count=8):
    """The group photo sent `count` times, each shrunk so its median labelled face is 25-28 px,
    JPEG 50-90 and a slight blur: per snapshot, (who, vector, quality) of each labelled face
    found (who: the identity, or "unknown" for a person outside the set)."""
    with open(dataset / "group_identities.csv", newline="") as fh:
        labelled = [
            ((float(r["x1"]), float(r["y1"]), float(r["x2"]), float(r["y2"])), r["identity"])
            for r in csv.DictReader(fh)
            if r["file"] == GROUP
        ]
    pixels = np.asarray(load_image(dataset / GROUP))
    base = 28 / np.median([side(box) for box, _ in labelled])
    snapshots = []
    for view in range(count):
        rng = rng_for("test", GROUP, view)
        jpeg, blur = random_view(rng)
        scale = base * rng.uniform(0.9, 1.0)
        small = degrade(pixels, scale, jpeg, blur)
        faces = analyse_photo(small, detector, embedder)
        qualities = face_qualities(small, faces)
        seen = []
        for k, (box, who) in enumerate(labelled):
            scaled = tuple(v * scale for v in box)
            match = [(f, q) for f, q in zip(faces, qualities) if iou(f.box, scaled) >= 0.4]
            if match:
                seen.append((k, who, match[0][0].embedding, match[0][1]))
        snapshots.append(seen)
    return snapshots


def test_a_room_camera_s_snapshots_mark_no_stranger_however_many_and_mark_students_no_snapshot_could(
    faces_dataset, detector, dlib_embedder, cast_gallery
):
    snapshots = room_camera_snapshots(faces_dataset, detector, dlib_embedder)
    sizes = [q.size_px for seen in snapshots for *_, q in seen]
    assert np.median(sizes) < 28 and max(sizes) < 34
    views, names = {}, {}
    marked_once, marked_later = set(), set()
    for number, seen in enumerate(snapshots):
        for k, who, vector, quality in seen:
            views.setdefault(k, []).append((vector, quality))
            names[k] = who
            if number == 0:
                (single,) = decide(vector[None], cast_gallery, CAST, [quality], CALIBRATION)
                if single.kind == MARK:
                    marked_once.add(who)
        people = sorted(views)
        decisions = decide_people(
            [(np.stack([v for v, _ in views[k]]), [q for _, q in views[k]]) for k in people],
            cast_gallery,
            CAST,
            CALIBRATION,
        )
        for k, decision in zip(people, decisions):
            who = names[k]
            if who == "unknown":
                assert decision.kind != MARK, f"a stranger marked as {decision.student} after {number + 1} snapshots"
            else:
                assert decision.student == who or decision.kind not in (MARK, SUGGEST)
                if decision.kind == MARK:
                    marked_later.add(who)
    assert sum(who == "unknown" for who in names.values()) == 3  # the three strangers were seen
    assert marked_later - marked_once, "several snapshots marked nobody a single one could not"
