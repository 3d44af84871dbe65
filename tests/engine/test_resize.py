"""The device path's resize (recognition/engine/resize.py) gives OpenCV's INTER_AREA numbers, run
here on the CPU with the same torch code a GPU runs."""

import cv2
import numpy as np
import pytest
import torch

from recognition.engine.images import load_image
from recognition.engine.resize import device_photo, resize_boxes, resize_photo


def opencv_crop(pixels, box, size):
    """What the OpenCV detector does: cut the box (x, y, w, h) out, black outside the photo, resize."""
    x, y, w, h = box
    patch = np.zeros((h, w, 3), dtype=np.uint8)
    top, left = max(y, 0), max(x, 0)
    bottom, right = min(y + h, pixels.shape[0]), min(x + w, pixels.shape[1])
    if bottom > top and right > left:
        patch[top - y : bottom - y, left - x : right - x] = pixels[top:bottom, left:right]
    return cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def class_photo(faces_dataset):
    return np.ascontiguousarray(np.asarray(load_image(faces_dataset / "group" / "ultralight_11.jpg")))


@pytest.mark.parametrize("size", [24, 48])
def test_crops_of_every_size_match_opencv_pixel_for_pixel(class_photo, size):
    # Boxes as R-Net and O-Net get them: enlarged (OpenCV's fixed-point linear), exactly 2x and
    # 4x (its integer path; 2x rounds halves up), 20 -> 24 and 40 -> 48 (a tap that a two-step
    # division moved), non-square, any other shrink (float sums), and cut by the photo's edges.
    rng = np.random.default_rng(size)
    height, width = class_photo.shape[:2]
    sides = [(s, s) for s in range(size - 8, 4 * size + 3)] + [(2 * size, 2 * size + 1), (33, 32), (48, 49)]
    boxes = []
    for w, h in sides:
        boxes.append((int(rng.integers(-w // 2, width - w // 2)), int(rng.integers(-h // 2, height - h // 2)), w, h))
    boxes += [(-10, -10, 60, 60), (width - 30, height - 30, 60, 60), (-100, 5, 60, 60)]
    ours = resize_boxes(device_photo(torch.from_numpy(class_photo.copy())), torch.tensor(boxes), size).numpy()
    theirs = np.stack([opencv_crop(class_photo, box, size) for box in boxes])
    mismatched = [boxes[k] for k in np.nonzero((ours != theirs).any((1, 2, 3)))[0]]
    assert mismatched == []


def test_the_pyramid_levels_match_opencv_but_for_a_few_rounded_halves(class_photo):
    photo = device_photo(torch.from_numpy(class_photo.copy()))
    height, width = class_photo.shape[:2]
    for scale in (0.6, 0.6 * 0.709, 0.5, 0.1, 0.03):
        h, w = int(height * scale + 1), int(width * scale + 1)
        ours = resize_photo(photo, h, w).numpy()
        theirs = cv2.resize(class_photo, (w, h), interpolation=cv2.INTER_AREA)
        difference = np.abs(ours - theirs.astype(np.int32))
        # resize_photo leaves out OpenCV's float sums, which decide ~1 pixel in 10^5 there
        assert difference.max() <= 1 and (difference > 0).mean() < 1e-4, scale


def test_resize_photo_refuses_to_enlarge(class_photo):
    with pytest.raises(ValueError, match="only shrinks"):
        resize_photo(device_photo(torch.from_numpy(class_photo.copy())), 10_000, 10)
