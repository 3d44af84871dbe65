"""Choosing an embedder by name."""

from __future__ import annotations

import logging

from .calibration import is_calibrated
from .dlib_resnet import DlibResNetEmbedder
from .facenet import MODEL_NAME as FACENET_MODEL_NAME
from .facenet import FaceNetEmbedder, WeightsMissing

EMBEDDER_NAMES = ("auto", "facenet", "dlib")

log = logging.getLogger(__name__)


def load_embedder(name: str = "auto", facenet_weights=None, threshold_set: bool = False, device="cpu"):
    """Return an embedder (has .name, .dim, .embed(image, faces)).

    auto: FaceNet only when its weights exist AND it has an operating point on record (its
    calibration file, or threshold_set: FACE_MATCH_THRESHOLD in the environment); else dlib's
    ResNet, logging why. An uncalibrated model would mark students at a guessed distance.
    The returned object's .name says which one was loaded; callers log it, because embeddings
    of different models must never be compared. device: where the network runs (resolve_device)."""
    if name not in EMBEDDER_NAMES:
        raise ValueError(f"unknown embedder {name!r}; choose one of {', '.join(EMBEDDER_NAMES)}")
    if name == "facenet":
        return FaceNetEmbedder(facenet_weights, device=device)
    if name == "auto":
        if not (is_calibrated(FACENET_MODEL_NAME) or threshold_set):
            log.info(
                "FACE_EMBEDDER=auto: using dlib, FaceNet is not calibrated "
                "(run bench/evaluate.py DATASET --embedder facenet, or set FACE_MATCH_THRESHOLD)"
            )
        else:
            try:
                return FaceNetEmbedder(facenet_weights, device=device)
            except WeightsMissing:
                log.info("FACE_EMBEDDER=auto: using dlib, the FaceNet weights are not installed")
    return DlibResNetEmbedder(device=device)


__all__ = ["load_embedder", "EMBEDDER_NAMES"]
