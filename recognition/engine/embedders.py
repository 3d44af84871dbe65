"""Choosing an embedder by name."""

from __future__ import annotations

from .facenet import FaceNetEmbedder, WeightsMissing, default_weights_path

EMBEDDER_NAMES = ("auto", "facenet", "dlib")


def load_embedder(name: str = "auto", facenet_weights=None):
    """Return an embedder (has .name, .dim, .embed(image, faces)).

    auto: FaceNet when its weights file exists, else dlib's ResNet. The
    returned object's .name says which one was loaded; callers log it,
    because embeddings of different models must never be compared."""
    if name not in EMBEDDER_NAMES:
        raise ValueError(f"unknown embedder {name!r}; choose one of {', '.join(EMBEDDER_NAMES)}")
    if name == "facenet":
        return FaceNetEmbedder(facenet_weights)
    if name == "auto":
        try:
            return FaceNetEmbedder(facenet_weights)
        except WeightsMissing:
            pass
    from .dlib_resnet import DlibResNetEmbedder

    return DlibResNetEmbedder()


__all__ = ["load_embedder", "EMBEDDER_NAMES", "default_weights_path"]
