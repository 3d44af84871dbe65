import numpy as np
import pytest
from PIL import Image

from recognition.engine.draw import UNKNOWN_COLOUR, annotate
from recognition.engine.images import load_image
from recognition.engine.pipeline import (
    MIN_ENROLMENT_FACE_PX,
    EnrolmentRejected,
    analyse_photo,
    embed_enrolment_photo,
    face_crop,
)


def test_enrolment_photo_gives_one_normalised_embedding(portrait, detector, dlib_embedder):
    vector = embed_enrolment_photo(load_image(portrait), detector, dlib_embedder)
    assert vector.shape == (dlib_embedder.dim,) and np.isclose(np.linalg.norm(vector), 1.0, atol=1e-4)


def test_enrolment_photo_without_a_face_is_rejected(faces_dataset, detector, dlib_embedder):
    # a real patch of a class photo without faces (clothes, bottom left) and a plain gradient
    wall = load_image(faces_dataset / "group" / "ultralight_20.jpg").crop((0, 450, 300, 603))
    gradient = Image.fromarray(np.tile(np.linspace(0, 255, 320, dtype=np.uint8), (240, 1))).convert("RGB")
    for image in (wall, gradient):
        with pytest.raises(EnrolmentRejected, match="No face was found"):
            embed_enrolment_photo(image, detector, dlib_embedder)


def test_enrolment_photo_with_several_similar_faces_is_rejected(faces_dataset, detector, dlib_embedder):
    image = load_image(faces_dataset / "group" / "faceapi_bbt3.jpg")
    with pytest.raises(EnrolmentRejected, match="faces of similar size"):
        embed_enrolment_photo(image, detector, dlib_embedder)


def test_enrolment_face_too_small_is_rejected(portrait, detector, dlib_embedder):
    # the LFW face is ~110 px in 250 px; shrink the whole photo so it is ~30 px
    small = load_image(portrait).resize((70, 70), Image.LANCZOS)
    canvas = Image.new("RGB", (200, 200), (128, 128, 128))
    canvas.paste(small, (65, 65))
    with pytest.raises(EnrolmentRejected, match=f"at least {MIN_ENROLMENT_FACE_PX}"):
        embed_enrolment_photo(canvas, detector, dlib_embedder)


def test_analyse_photo_returns_faces_embeddings_timings_and_crops(faces_dataset, detector, dlib_embedder):
    image = load_image(faces_dataset / "group" / "faceapi_bbt3.jpg")
    result = analyse_photo(image, detector, dlib_embedder)
    assert len(result) == 5
    assert result.detect_ms > 0 and result.embed_ms > 0
    for face in result:
        assert face.embedding.shape == (128,) and face.landmarks.shape == (5, 2)
    assert face_crop(image, result[0].box).size == (160, 160)

    drawn = annotate(image, [(f.box, "Sheldon" if i == 0 else None) for i, f in enumerate(result)])
    assert drawn.size == image.size and drawn is not image
    x1, y1, x2, y2 = (int(v) for v in result[1].box)
    assert drawn.getpixel((x1, (y1 + y2) // 2)) == UNKNOWN_COLOUR
