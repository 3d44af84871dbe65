"""dlib's ResNet face descriptor (the model behind the face_recognition library).

The network runs in PyTorch (dlib_torch.py) with the weights read from dlib's
own model file: the dlib wheel has no BLAS and took ~100-130 ms per face on one
core, torch ~5 ms per face in a batch. Single descriptors match dlib's C++ to
< 1e-6 per component (tests/engine/test_dlib_torch.py).

An embedding is the mean of the descriptors of the chip and its mirror image,
a different vector from dlib's single pass, hence its own model name."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import dlib
import numpy as np
import torch

from .align import DLIB_TEMPLATE_150, align_faces, dlib_face_chip
from .dlib_torch import load_dlib_face_resnet

# Flip averaging, measured on the dev set (enrol the first image of each
# identity, probe the rest): rank-1 159/159 vs 158/159 for one pass
# (stuart5 came out nearer John_Simm, 0.415 vs 0.421), for twice the
# embedding time (~10 ms a face).
MODEL_NAME = "dlib_resnet_v1_flip"


def _models_dir() -> Path:
    # face_recognition_models/__init__ imports pkg_resources just to build
    # these paths; find the package folder without importing it.
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "face_recognition_models is not installed; it holds dlib's face model files "
            "(pip install face_recognition_models==0.3.0)."
        )
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def dlib_model_path(filename: str) -> Path:
    path = _models_dir() / filename
    if not path.is_file():
        raise FileNotFoundError(f"dlib model file missing: {path}")
    return path


class DlibResNetEmbedder:
    """128-d descriptors from dlib_face_recognition_resnet_model_v1.

    chip="landmarks" (default) warps MTCNN's 5 landmarks onto
    DLIB_TEMPLATE_150 (where get_face_chip puts them on average).
    chip="shape_predictor" is the textbook route: dlib's own 5-point
    predictor inside the MTCNN box, then get_face_chip(padding=0.25).
    Measured on the 189 dev identity images (normalised distances): same
    rank-1 (158/159 enrolling one photo each), but the landmark route
    separates people better: closest pair of different people 0.401 vs 0.369,
    farthest leave-one-out genuine match 0.351 vs 0.384. dlib's predictor
    was trained on dlib's own (tighter) detector boxes, not MTCNN's.
    """

    name = MODEL_NAME
    dim = 128
    chip_size = 150

    def __init__(self, chip: str = "landmarks", device="cpu"):
        if chip not in ("shape_predictor", "landmarks"):
            raise ValueError("chip must be 'shape_predictor' or 'landmarks'")
        self.chip = chip
        self.device = torch.device(device)
        # channels_last: oneDNN's faster layout for these convolutions on CPU
        # (one thread, ms per face: batch 1 6.7 vs 11.2, batch 32 4.4 vs 5.2).
        self._net = load_dlib_face_resnet(dlib_model_path("dlib_face_recognition_resnet_model_v1.dat")).to(
            self.device, memory_format=torch.channels_last
        )
        self._shape_predictor = dlib.shape_predictor(str(dlib_model_path("shape_predictor_5_face_landmarks.dat")))

    def chips(self, image_rgb, faces) -> np.ndarray:
        """(N, 150, 150, 3) uint8 aligned chips for a list of detect.Face."""
        image = np.ascontiguousarray(np.asarray(image_rgb), dtype=np.uint8)
        if self.chip == "landmarks":
            return align_faces(image, faces, DLIB_TEMPLATE_150, self.chip_size)
        out = np.zeros((len(faces), self.chip_size, self.chip_size, 3), dtype=np.uint8)
        for k, face in enumerate(faces):
            out[k] = dlib_face_chip(image, face.box, self._shape_predictor, size=self.chip_size, padding=0.25)
        return out

    def embed_chips(self, chips: np.ndarray) -> np.ndarray:
        """(N, 128) L2-normalised mean of each chip's and its mirror image's descriptor."""
        n = len(chips)
        if n == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        chips = self._on_device(chips)
        both = _normalised(self._forward(torch.cat([chips, chips.flip(2)])))
        vectors = both[:n] + both[n:]
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)

    def descriptors(self, chips: np.ndarray) -> np.ndarray:
        """(N, 128) L2-normalised single-pass descriptors: dlib's own output, normalised."""
        if len(chips) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalised(self._forward(self._on_device(chips)))

    def _on_device(self, chips: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(chips, dtype=np.uint8)).to(self.device)  # one transfer in

    def _forward(self, chips: torch.Tensor) -> np.ndarray:
        """Raw descriptors of (N, 150, 150, 3) chips on the device, brought back once."""
        # One forward pass per batch of faces (4.4 ms per face at 32 vs 6.7 one
        # at a time); batches of 64 bound activation memory (~100 MB).
        with torch.inference_mode():
            raw = torch.cat([self._net(chips[start : start + 64]) for start in range(0, len(chips), 64)])
        return raw.cpu().numpy()

    def embed(self, image_rgb, faces) -> np.ndarray:
        return self.embed_chips(self.chips(image_rgb, faces))


def _normalised(vectors: np.ndarray) -> np.ndarray:
    # dlib's raw descriptors have norm ~1.4 (1.40-1.55 on the test chips);
    # normalising makes distances comparable across models (thresholds are
    # set on the normalised vectors).
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
