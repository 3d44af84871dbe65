"""Face alignment: landmarks -> fixed-size crops the embedders were trained on."""

from __future__ import annotations

import cv2
import dlib
import numpy as np
from PIL import Image

# 5-point template (left eye, right eye, nose, mouth left, mouth right) for a
# 160x160 FaceNet input, chosen to reproduce the seed's crop (MTCNN box
# resized so the box fills the inner 128 px, i.e. margin 32 at 160): the mean
# MTCNN landmark position relative to its box over the 186 dev identity faces,
# (0.277,0.382) (0.730,0.380) (0.502,0.589) (0.305,0.747) (0.714,0.744),
# mapped into [16, 144] and made left/right symmetric about x = 80.
FACENET_TEMPLATE_160 = np.array(
    [[51.0, 64.8], [109.0, 64.8], [80.0, 91.3], [54.8, 111.4], [105.2, 111.4]], dtype=np.float32
)

# Where dlib.get_face_chip(size=150, padding=0.25) puts the MTCNN landmarks
# (median over the 186 dev identity faces). Used to build dlib chips straight
# from MTCNN landmarks without dlib's shape predictor (see dlib_resnet.py for
# which route is used and why).
DLIB_TEMPLATE_150 = np.array(
    [[45.7, 44.0], [100.7, 44.0], [72.9, 77.1], [48.7, 102.1], [98.8, 102.0]], dtype=np.float32
)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2x3 matrix of the least-squares similarity (rotation, uniform scale,
    translation) taking src points to dst points (Umeyama 1991).

    Least squares over all 5 points rather than RANSAC: with 5 points a
    robust fit would throw away real information about the face."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1  # no reflections
    rot = u @ sign @ vt
    scale = np.trace(np.diag(sig) @ sign) / s.var(0).sum()
    matrix = np.zeros((2, 3))
    matrix[:, :2] = scale * rot
    matrix[:, 2] = mu_d - scale * rot @ mu_s
    return matrix


def align_face(image_rgb: np.ndarray, landmarks: np.ndarray, template: np.ndarray, size: int) -> np.ndarray:
    """Warp the face so its landmarks land on the template: (size, size, 3) uint8."""
    matrix = similarity_transform(landmarks, template)
    return cv2.warpAffine(
        np.asarray(image_rgb), matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )


def align_faces(image_rgb: np.ndarray, faces, template: np.ndarray, size: int) -> np.ndarray:
    """(N, size, size, 3) uint8 for a list of detect.Face."""
    image = np.asarray(image_rgb)
    out = np.zeros((len(faces), size, size, 3), dtype=np.uint8)
    for k, face in enumerate(faces):
        out[k] = align_face(image, face.landmarks, template, size)
    return out


def dlib_face_chip(image_rgb: np.ndarray, box, shape_predictor, size: int = 150, padding: float = 0.25) -> np.ndarray:
    """The chip dlib's ResNet was trained on: dlib's 5-point shape predictor run
    inside the detector box, then dlib.get_face_chip."""
    image = np.ascontiguousarray(np.asarray(image_rgb), dtype=np.uint8)
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    shape = shape_predictor(image, dlib.rectangle(x1, y1, x2, y2))
    return np.asarray(dlib.get_face_chip(image, shape, size=size, padding=padding))


def crop_with_margin(image, box, size: int = 160, margin: int = 32) -> Image.Image:
    """Square-resized crop of the box plus a margin, as facenet-pytorch's
    extract_face: `margin` is in pixels of the *output* (32 at 160 means the
    box fills the inner 128 px), so the crop looks the same for small and
    large faces. The seed's align_dataset_mtcnn.py counted the margin in
    source pixels, which equals this for LFW-size (~110 px) faces. Parts
    outside the photo are black rather than clipped, so faces at the edge are
    not stretched."""
    if not isinstance(image, Image.Image):
        image = Image.fromarray(np.asarray(image))
    x1, y1, x2, y2 = box
    mx = margin * (x2 - x1) / max(size - margin, 1)
    my = margin * (y2 - y1) / max(size - margin, 1)
    left, top = int(round(x1 - mx / 2)), int(round(y1 - my / 2))
    right, bottom = int(round(x2 + mx / 2)), int(round(y2 + my / 2))
    if right <= left or bottom <= top:
        raise ValueError(f"empty face box {box}")
    crop = image.crop((left, top, right, bottom))  # Pillow fills outside the image with black
    return crop.resize((size, size), Image.BILINEAR)
