"""Where each face's number goes on the drawing of a class photo: beside its face, never over
another number or over any face's box, whatever the number of faces.

Plain Python over rectangles in the drawing's units (the photo drawn 1000 wide), so that the
placement holds at every screen width: the drawing is scaled as a whole. Deterministic: each
face, in the order numbered, takes the first free place among candidates around its box, first
as a full-size chip, then as a small one, then over the edge of its own box (covering a little
of its own face, no other), then a little further out with a line to it; a face with no free
place at all gets a small chip in its own box's corner.
"""

from dataclasses import dataclass
from statistics import median

# The gap between a chip and its face's box, and the chip sizes, as parts of a typical face.
GAP = 2
LARGE, SMALL = 0.8, 0.5
# Whatever the faces' size, a chip stays within these (in drawing units; the photo is 1000 wide).
LARGE_LIMITS, SMALL_LIMITS = (26, 60), (18, 38)


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    def overlaps(self, other):
        return (
            self.x < other.x + other.w
            and other.x < self.x + self.w
            and self.y < other.y + other.h
            and other.y < self.y + self.h
        )

    def inside(self, area):
        return (
            self.x >= area.x
            and self.y >= area.y
            and self.x + self.w <= area.x + area.w
            and self.y + self.h <= area.y + area.h
        )

    @property
    def right(self):
        return self.x + self.w

    @property
    def bottom(self):
        return self.y + self.h

    @property
    def centre(self):
        return self.x + self.w / 2, self.y + self.h / 2


@dataclass(frozen=True)
class Label:
    chip: Rect
    small: bool
    # Drawn with a line to its face: a chip placed further out than the ring around the box.
    away: bool
    # Over part of its own face's box: no place beside the face was free.
    inside: bool


def chip_sizes(boxes):
    """(large, small) chip sides for these faces: in proportion to a typical face, so that a
    class of small faces gets small chips, within LARGE_LIMITS and SMALL_LIMITS."""
    typical = median(min(box.w, box.h) for box in boxes) if boxes else 40
    large = min(max(typical * LARGE, LARGE_LIMITS[0]), LARGE_LIMITS[1])
    small = min(max(typical * SMALL, SMALL_LIMITS[0]), SMALL_LIMITS[1])
    return round(large), round(small)


def margin(boxes):
    """How far the drawing reaches beyond the photo on each side, for the chips of its edge faces."""
    return chip_sizes(boxes)[0] + 2 * GAP


def candidates(box, side, distance):
    """Places for a chip of this side around the box, nearest first: above (left, centre,
    right), left and right of the top, below, then the corners; distance pushes the ring out
    by that many chips."""
    out = GAP + distance * (side + GAP)
    left, right = box.x - side - out, box.x + box.w + out
    top, bottom = box.y - side - out, box.y + box.h + out
    centre_x = box.x + (box.w - side) / 2
    return [
        (box.x, top),
        (centre_x, top),
        (box.x + box.w - side, top),
        (left, box.y),
        (right, box.y),
        (centre_x, bottom),
        (box.x, bottom),
        (box.x + box.w - side, bottom),
        (left, box.y + box.h - side),
        (right, box.y + box.h - side),
        (left, top),
        (right, top),
        (left, bottom),
        (right, bottom),
    ]


def on_its_box(box, side):
    """Places for a chip over the edge or in a corner of its own box: where a crowded face's
    number covers only a little of that face, over its forehead or chin first."""
    half = side / 2
    centre_x = box.x + (box.w - side) / 2
    return [
        (centre_x, box.y - half),
        (box.x - half, box.y - half),
        (box.x + box.w - half, box.y - half),
        (centre_x, box.y + box.h - half),
        (box.x, box.y),
        (box.x + box.w - side, box.y),
        (box.x, box.y + box.h - side),
        (box.x + box.w - side, box.y + box.h - side),
    ]


def place_labels(boxes, area):
    """A Label for each box (Rects in drawing units), in order; area: the Rect the chips must
    stay in (the photo and its margin). No chip overlaps another chip or any other face's box;
    a chip overlaps its own face's box only where no place beside it is free (Label.inside)."""
    large, small = chip_sizes(boxes)
    # (side, how far out, over its own box)
    attempts = [(large, 0, False), (small, 0, False), (small, None, True), (small, 1, False), (small, 2, False)]
    placed = []
    labels = []
    for index, box in enumerate(boxes):
        label = None
        others = [other for position, other in enumerate(boxes) if position != index]
        for side, distance, own in attempts:
            places = on_its_box(box, side) if own else candidates(box, side, distance)
            avoid = [*others, *placed] if own else [*boxes, *placed]
            for x, y in places:
                chip = Rect(round(x, 1), round(y, 1), side, side)
                if chip.inside(area) and not any(chip.overlaps(other) for other in avoid):
                    label = Label(chip, side == small, bool(distance), own)
                    break
            if label:
                break
        if label is None:
            side = min(small, box.w, box.h)
            label = Label(Rect(box.x, box.y, side, side), True, False, True)
        placed.append(label.chip)
        labels.append(label)
    return labels
