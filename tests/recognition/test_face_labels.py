"""The numbers on a class photo's faces (recognition/face_labels.py): beside their face, never
over another number or any face, however many faces and however close, the same every time."""

import random

import pytest

from recognition.face_labels import Rect, chip_sizes, margin, place_labels


def drawing(boxes, width=1000, height=700):
    edge = margin(boxes)
    return Rect(-edge, -edge, width + 2 * edge, height + 2 * edge)


def rows_of_faces(rows, per_row, size, gap, top=80, left=20):
    """A class on stairs: rows of faces of one size, gap apart."""
    return [
        Rect(left + column * (size + gap), top + row * (size * 1.6), size, size * 1.2)
        for row in range(rows)
        for column in range(per_row)
    ]


def assert_apart(boxes, labels):
    chips = [label.chip for label in labels]
    for index, chip in enumerate(chips):
        assert not any(chip.overlaps(other) for other in chips[index + 1 :]), index
        for owner, box in enumerate(boxes):
            if owner == index and labels[index].inside:
                continue  # the last resort: a chip in its own box's corner
            assert not chip.overlaps(box), (index, owner)


@pytest.mark.parametrize(
    "boxes",
    [
        rows_of_faces(1, 5, 120, 60),  # five friends, large
        rows_of_faces(4, 7, 40, 8),  # 28 small faces, close together
        rows_of_faces(3, 12, 30, 2),  # 36 tiny faces, shoulder to shoulder
        rows_of_faces(6, 18, 26, 1),  # 108: a hall
    ],
    ids=["5", "28", "36", "108"],
)
def test_no_number_covers_another_or_any_face(boxes):
    labels = place_labels(boxes, drawing(boxes, height=1000))
    assert len(labels) == len(boxes)
    assert_apart(boxes, labels)
    area = drawing(boxes, height=1000)
    assert all(label.chip.inside(area) or label.inside for label in labels)


def test_a_face_with_room_gets_a_full_size_number_right_above_it():
    boxes = [Rect(400, 300, 100, 120)]
    (label,) = place_labels(boxes, drawing(boxes))
    large, _ = chip_sizes(boxes)
    assert not label.small and not label.away
    assert (label.chip.x, label.chip.y + label.chip.h) == (400, 298)  # its left edge, 2 units above
    assert label.chip.w == large


def test_crowded_faces_get_small_numbers_further_out_rather_than_overlapping():
    boxes = rows_of_faces(3, 12, 30, 2)
    labels = place_labels(boxes, drawing(boxes))
    assert any(label.small for label in labels)
    assert_apart(boxes, labels)


def test_numbers_are_sized_for_the_faces_within_limits():
    assert chip_sizes([Rect(0, 0, 40, 50)]) == (32, 20)
    assert chip_sizes([Rect(0, 0, 10, 10)]) == (26, 18)  # never unreadably small
    assert chip_sizes([Rect(0, 0, 300, 300)]) == (60, 38)  # never a blot on a close-up


def test_the_same_faces_get_the_same_places():
    generator = random.Random(7)
    boxes = [Rect(generator.uniform(0, 950), generator.uniform(0, 650), 35, 42) for _ in range(40)]
    area = drawing(boxes)
    first = place_labels(boxes, area)
    assert first == place_labels(list(boxes), area)
    assert_apart(boxes, first)


def test_a_face_boxed_in_on_every_side_numbers_inside_its_own_box():
    centre = Rect(200, 200, 40, 40)
    # Faces all round, touching it: no place beside it is free.
    steps = [(dx, dy) for dx in range(-4, 5) for dy in range(-4, 5) if (dx, dy) != (0, 0)]
    ring = [Rect(200 + dx * 42, 200 + dy * 42, 40, 40) for dx, dy in steps]
    boxes = [*ring, centre]
    labels = place_labels(boxes, Rect(0, 0, 400, 400))
    assert labels[-1].inside and labels[-1].chip.inside(centre)
    assert_apart(boxes, labels)
