"""How much a detected face can be trusted as evidence, from its pixels and landmarks.

Three cheap measures (well under 1 ms a face), each known to move face-recognition error rates:
- size: the face's shorter box side in image pixels (descriptors drift on small faces);
- sharpness: variance of the Laplacian of a small grey chip aligned like the embedder's input
  (motion blur and defocus remove the detail descriptors rely on);
- yaw: how far the nose sits off the line between the eyes, from the 5 landmarks
  (0 = frontal, 1 = nose level with an eye, i.e. a profile).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Sharpness is measured on a 64 px chip (the 150 px template scaled), so it
# depends on the face, not on how large it is in the photo, and costs ~0.1 ms.
_CHIP = 64


@dataclass(frozen=True)
class FaceQuality:
    size_px: float
    sharpness: float
    yaw: float


def face_quality(gray: np.ndarray, box, landmarks) -> FaceQuality:
    """Quality of one face. gray: (H, W) uint8 of the whole photo."""
    # OpenCV only where pixels are measured: a web process (no face stack installed) rebuilds
    # the quality of a stored face with stored_quality().
    import cv2

    from .align import DLIB_TEMPLATE_150, similarity_transform

    landmarks = np.asarray(landmarks, dtype=np.float64)
    chip = cv2.warpAffine(
        gray,
        similarity_transform(landmarks, DLIB_TEMPLATE_150 * (_CHIP / 150.0)),
        (_CHIP, _CHIP),
        flags=cv2.INTER_AREA,
        borderMode=cv2.BORDER_REPLICATE,
    )
    sharpness = float(cv2.Laplacian(chip, cv2.CV_32F).var())
    return stored_quality(box, landmarks, sharpness)


def stored_quality(box, landmarks, sharpness: float) -> FaceQuality:
    """The quality of a face from its box, 5 landmarks and measured sharpness (what a stored
    face keeps): size and yaw need no pixels."""
    landmarks = np.asarray(landmarks, dtype=np.float64)
    left_eye, right_eye, nose = landmarks[0], landmarks[1], landmarks[2]
    axis = right_eye - left_eye
    eye_gap = float(np.dot(axis, axis))
    # Position of the nose projected on the eye axis: 0.5 when frontal.
    along = float(np.dot(nose - left_eye, axis)) / eye_gap if eye_gap > 0 else 0.5
    size = float(min(box[2] - box[0], box[3] - box[1]))
    return FaceQuality(size_px=size, sharpness=sharpness, yaw=abs(along - 0.5) * 2.0)


def face_qualities(image_rgb, faces) -> list[FaceQuality]:
    """One FaceQuality per face (anything with .box and .landmarks) of an RGB photo."""
    if not len(faces):
        return []
    import cv2

    gray = cv2.cvtColor(np.ascontiguousarray(np.asarray(image_rgb), dtype=np.uint8), cv2.COLOR_RGB2GRAY)
    return [face_quality(gray, face.box, face.landmarks) for face in faces]
