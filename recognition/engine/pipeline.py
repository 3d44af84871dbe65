"""The photo paths the worker, commands, tests and bench all share."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from .align import crop_with_margin

# An enrolment face narrower than this is refused. Measured on the dev
# identities (bench/README.md): dlib descriptors of faces shrunk to 40 px
# stay within ~0.1 of the full-size descriptor, at 24 px they drift by more
# than half the match threshold. Also the smallest counted face in the dev
# class photos is 27 px, so a 40 px enrolment face is never the weak link.
MIN_ENROLMENT_FACE_PX = 40
# The largest face must be at least this many times the area of the next
# one, or we cannot tell whose photo it is.
ENROLMENT_DOMINANCE = 2.0


class EnrolmentRejected(ValueError):
    """The photo cannot be used to enrol a student; str(exc) says why and what to do."""


@dataclass
class FaceResult:
    box: tuple  # (x1, y1, x2, y2) in image pixels
    score: float
    landmarks: np.ndarray = field(repr=False)  # (5, 2)
    embedding: np.ndarray = field(repr=False)  # (dim,) float32, L2-normalised


class PhotoFaces(list):
    """list[FaceResult] plus how long each step took."""

    def __init__(self, faces=(), detect_ms: float = 0.0, embed_ms: float = 0.0):
        super().__init__(faces)
        self.detect_ms = detect_ms
        self.embed_ms = embed_ms


def _as_array(image) -> np.ndarray:
    return np.ascontiguousarray(
        np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image), dtype=np.uint8
    )


def analyse_photo(image, detector, embedder) -> PhotoFaces:
    """Detect every face, align and embed it. image: PIL RGB or (H, W, 3) uint8."""
    pixels = _as_array(image)
    start = time.perf_counter()
    faces = detector.detect(pixels)
    detected = time.perf_counter()
    embeddings = embedder.embed(pixels, faces)
    done = time.perf_counter()
    results = [FaceResult(f.box, f.score, f.landmarks, e) for f, e in zip(faces, embeddings)]
    return PhotoFaces(results, (detected - start) * 1000, (done - detected) * 1000)


def face_crop(image, box, size: int = 160, margin: int = 32) -> Image.Image:
    """Square crop of one face for storage and review pages."""
    return crop_with_margin(
        image if isinstance(image, Image.Image) else Image.fromarray(_as_array(image)), box, size, margin
    )


def _box_area(face) -> float:
    x1, y1, x2, y2 = face.box
    return max(0.0, x2 - x1) * max(0.0, y2 - y1)


def choose_enrolment_face(faces):
    """The one face an enrolment photo is about (any objects with .box), or
    EnrolmentRejected saying why not."""
    faces = sorted(faces, key=lambda f: -_box_area(f))
    if not faces:
        raise EnrolmentRejected(
            "No face was found in this photo. Use a well-lit photo where the student looks at the camera "
            "and the whole face is visible."
        )
    if len(faces) > 1 and _box_area(faces[0]) < ENROLMENT_DOMINANCE * _box_area(faces[1]):
        raise EnrolmentRejected(
            f"This photo shows {len(faces)} faces of similar size, so we cannot tell which one is the student. "
            "Use a photo of the student alone (or crop it to their face)."
        )
    face = faces[0]
    side = min(face.box[2] - face.box[0], face.box[3] - face.box[1])
    if side < MIN_ENROLMENT_FACE_PX:
        raise EnrolmentRejected(
            f"The face is only {side:.0f} pixels wide, too small to recognise reliably "
            f"(at least {MIN_ENROLMENT_FACE_PX} needed). Use a closer or higher-resolution photo."
        )
    return face


def embed_enrolment_photo(image, detector, embedder) -> np.ndarray:
    """(dim,) embedding of the student's face in an enrolment photo."""
    return embed_enrolment_photo_at_sizes(image, detector, embedder, (0,))[0]


def embed_enrolment_photo_at_sizes(image, detector, embedder, sizes) -> dict[int, np.ndarray]:
    """{size: (dim,) embedding} of the student's face in an enrolment photo as it is (size 0)
    and shrunk so the face is `size` px: the gallery a face of that size is compared with (a
    sharp 150 px face and a 30 px one are far apart for reasons that are not identity)."""
    pixels = _as_array(image)
    return embed_face_at_sizes(pixels, choose_enrolment_face(detector.detect(pixels)), embedder, sizes)


def embed_face_at_sizes(pixels: np.ndarray, face, embedder, sizes) -> dict[int, np.ndarray]:
    """{size: (dim,) embedding} of one face of a photo as it is (0) and shrunk to each size; a
    face no larger than a size is embedded as it is for that size (enlarging adds nothing)."""
    side = min(face.box[2] - face.box[0], face.box[3] - face.box[1])
    vectors = {}
    as_it_is = None
    for size in sizes:
        if size and size < side:
            small, small_face = shrink_to_face_size(pixels, face, size)
            vectors[size] = embedder.embed(small, [small_face])[0]
        else:
            as_it_is = embedder.embed(pixels, [face])[0] if as_it_is is None else as_it_is
            vectors[size] = as_it_is
    return vectors


def shrink_to_face_size(pixels: np.ndarray, face, size: float):
    """The photo scaled down so the face's shorter box side is `size` px (area averaging, as a
    sensor farther away sees it), and the face (box, landmarks) scaled with it. The landmarks are
    the full-size photo's, more exact than a detection on the small one."""
    height, width = pixels.shape[:2]
    scale = size / min(face.box[2] - face.box[0], face.box[3] - face.box[1])
    new_width, new_height = max(1, round(width * scale)), max(1, round(height * scale))
    small = cv2.resize(pixels, (new_width, new_height), interpolation=cv2.INTER_AREA)
    sx, sy = new_width / width, new_height / height
    x1, y1, x2, y2 = face.box
    moved = dataclasses.replace(
        face,
        box=(x1 * sx, y1 * sy, x2 * sx, y2 * sy),
        landmarks=(np.asarray(face.landmarks) * np.array([sx, sy])).astype(np.float32),
    )
    return small, moved
