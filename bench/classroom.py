"""Faces as a classroom's distance makes them, for bench/evaluate.py: photos shrunk (area
averaging, as a sensor farther away sees them), slightly blurred and saved as JPEG, then run
through the engine's own detector and embedder. Everything measured is cached on disk
(var/bench_cache/, keyed by the engine's source, so a change to the detector or embedder
measures again), so a rerun costs seconds, not the ~10 minutes of the first run on one core.
"""

from __future__ import annotations

import ast
import hashlib
import pickle
from pathlib import Path

import cv2
import numpy as np

from recognition.engine.pipeline import analyse_photo
from recognition.engine.quality import face_qualities

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = ROOT / "var" / "bench_cache"
# The engine code whose change changes a measured face.
ENGINE_SOURCES = ("detect.py", "align.py", "dlib_resnet.py", "dlib_torch.py", "facenet.py", "quality.py", "pipeline.py")
JPEG_QUALITIES = (50, 90)  # a view's JPEG quality is drawn from this range
MAX_BLUR = 0.8  # Gaussian sigma in px of the shrunk photo, drawn from 0..this
IOU_MATCH = 0.4
ROOM_FACE_PX = 30  # a room camera's snapshot: the photo's median whole face at most this ...
ROOM_SCALE_JITTER = 0.9  # ... and at least 0.9 of it


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def side(box) -> float:
    return min(box[2] - box[0], box[3] - box[1])


def degrade(pixels: np.ndarray, scale: float, jpeg_quality: int | None, blur: float) -> np.ndarray:
    """The photo shrunk by `scale`, blurred by `blur` px (sigma, at the new size) and saved at
    `jpeg_quality` (None: not saved)."""
    height, width = pixels.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA) if scale != 1 else pixels
    if blur > 0:
        small = cv2.GaussianBlur(small, (0, 0), blur)
    if jpeg_quality is None:
        return np.ascontiguousarray(small)
    return np.ascontiguousarray(cv2.imdecode(jpeg_of(small, jpeg_quality), cv2.IMREAD_COLOR)[:, :, ::-1])


def jpeg_of(pixels: np.ndarray, jpeg_quality: int) -> np.ndarray:
    """The RGB pixels saved as a JPEG file (its bytes, as a uint8 array)."""
    ok, encoded = cv2.imencode(
        ".jpg", np.ascontiguousarray(pixels[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality]
    )
    return encoded


def whole_faces(boxes, width, height):
    """The counted faces (hand-labelled boxes: [(box, label)]) not cut by the frame."""
    return [
        b for b, label in boxes if label == "face" and b[0] > 1 and b[1] > 1 and b[2] < width - 1 and b[3] < height - 1
    ]


def median_whole_face(boxes, width, height) -> float:
    return float(np.median([side(b) for b in whole_faces(boxes, width, height)]))


def room_snapshot(name: str, view: int, median_face: float) -> tuple[float, int, float]:
    """Snapshot `view` of the group photo `name` as a room camera sees it: (scale, JPEG quality,
    blur) that shrink its median whole face (median_face px) to ROOM_SCALE_JITTER..1 of
    ROOM_FACE_PX. The same draws on every run, for the benchmark and the tests alike."""
    rng = rng_for(name, "room", view)
    scale = ROOM_FACE_PX / median_face * rng.uniform(ROOM_SCALE_JITTER, 1.0)
    quality, blur = random_view(rng)
    return scale, quality, blur


def room_snapshot_file(pixels: np.ndarray, name: str, view: int, median_face: float) -> bytes:
    """The JPEG file a room camera sends for snapshot `view` of the group photo (room_snapshot)."""
    scale, quality, blur = room_snapshot(name, view, median_face)
    return jpeg_of(degrade(pixels, scale, None, blur), quality).tobytes()


def rng_for(*key) -> np.random.Generator:
    """The same draws for the same view on every run."""
    return np.random.default_rng(int(hashlib.sha256("/".join(map(str, key)).encode()).hexdigest()[:12], 16))


def random_view(rng) -> tuple[int, float]:
    """A JPEG quality and a blur for one view."""
    return int(rng.integers(JPEG_QUALITIES[0], JPEG_QUALITIES[1] + 1)), float(rng.uniform(0.0, MAX_BLUR))


def code_of(path: Path) -> str:
    """The module's code without its comments and docstrings: what it does, not what it says."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            if isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


class Cache:
    """A dict on disk for one embedder, emptied when the code of the engine's detector, aligner,
    embedder or quality measures changes."""

    def __init__(self, embedder_name: str, name: str):
        digest = hashlib.sha256(embedder_name.encode())
        for source in ENGINE_SOURCES:
            digest.update(code_of(ROOT / "recognition" / "engine" / source).encode())
        self.path = CACHE_DIR / f"{name}-{embedder_name}-{digest.hexdigest()[:12]}.pkl"
        self.data = pickle.loads(self.path.read_bytes()) if self.path.exists() else {}
        self.dirty = 0

    def get(self, key, compute, *args):
        """The value kept for key, or compute(*args) kept."""
        if key not in self.data:
            self.data[key] = compute(*args)
            self.dirty += 1
            if self.dirty >= 1000:
                self.save()
        return self.data[key]

    def save(self):
        if self.dirty:
            CACHE_DIR.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(".tmp")
            temporary.write_bytes(pickle.dumps(self.data))
            temporary.replace(self.path)
            self.dirty = 0


def face_at_size(pixels, box, size, rng, detector, embedder):
    """One view of the face at `box` shrunk to about `size` px: (vector, quality) of the face the
    detector finds there, or None when it finds none."""
    quality, blur = random_view(rng)
    small = degrade(pixels, size / side(box), quality, blur)
    scale = small.shape[1] / pixels.shape[1]
    expected = tuple(v * scale for v in box)
    faces = detector.detect(small)
    best = max(faces, key=lambda face: iou(face.box, expected), default=None)
    if best is None or iou(best.box, expected) < IOU_MATCH:
        return None
    return embedder.embed(small, [best])[0], face_qualities(small, [best])[0]


def analyse_degraded(pixels, scale, jpeg_quality, blur, detector, embedder):
    """analyse_photo() of the photo degraded so: the faces (box, landmarks, embedding) and their qualities."""
    small = degrade(pixels, scale, jpeg_quality, blur)
    faces = analyse_photo(small, detector, embedder)
    return list(faces), face_qualities(small, faces)
