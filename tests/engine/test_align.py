import numpy as np
from PIL import Image

from recognition.engine.align import (
    FACENET_TEMPLATE_160,
    align_faces,
    crop_with_margin,
    dlib_face_chip,
    similarity_transform,
)
from recognition.engine.images import load_image


def test_similarity_transform_recovers_a_known_rotation_scale_shift():
    angle, scale, shift = np.deg2rad(12), 1.7, np.array([30.0, -8.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    src = FACENET_TEMPLATE_160.astype(np.float64)
    dst = src @ rot.T + shift
    matrix = similarity_transform(src, dst)
    assert np.allclose(matrix[:, :2], rot, atol=1e-6) and np.allclose(matrix[:, 2], shift, atol=1e-6)


def test_aligned_crops_have_the_embedders_input_shapes(portrait, detector, dlib_embedder):
    pixels = np.asarray(load_image(portrait))
    faces = detector.detect(pixels)
    assert len(faces) == 1
    facenet_chips = align_faces(pixels, faces, FACENET_TEMPLATE_160, 160)
    assert facenet_chips.shape == (1, 160, 160, 3) and facenet_chips.dtype == np.uint8
    assert dlib_embedder.chips(pixels, faces).shape == (1, 150, 150, 3)
    chip = dlib_face_chip(pixels, faces[0].box, dlib_embedder._shape_predictor)
    assert chip.shape == (150, 150, 3)
    # the face, not the black border, fills the chip
    assert facenet_chips[0, 40:120, 40:120].mean() > 40


def test_crop_with_margin_is_square_and_pads_outside_the_frame():
    image = Image.new("RGB", (100, 80), (200, 200, 200))
    crop = crop_with_margin(image, (-10, 10, 40, 60), size=160, margin=32)
    assert crop.size == (160, 160)
    assert crop.getpixel((2, 80)) == (0, 0, 0)  # left of the photo: black, not stretched
    assert crop.getpixel((120, 80)) == (200, 200, 200)
