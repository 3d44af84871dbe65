"""FaceNet (InceptionResnetV1 trained on VGGFace2) via facenet-pytorch, weights from a local file."""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import torch
from facenet_pytorch import InceptionResnetV1

from .align import FACENET_TEMPLATE_160, align_faces

MODEL_NAME = "facenet_vggface2"
WEIGHTS_FILENAME = "20180402-114759-vggface2.pt"
WEIGHTS_URL = "https://github.com/timesler/facenet-pytorch/releases/download/v2.2.9/" + WEIGHTS_FILENAME
VGGFACE2_CLASSES = 8631  # the released state dict includes the training classifier


class WeightsMissing(FileNotFoundError):
    """The FaceNet weights file is not on disk (we never download at load time)."""


def default_weights_path() -> Path:
    """Where facenet-pytorch itself caches the file: $TORCH_HOME/checkpoints
    (TORCH_HOME defaults to $XDG_CACHE_HOME/torch, i.e. ~/.cache/torch)."""
    torch_home = os.path.expanduser(
        os.getenv("TORCH_HOME", os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "torch"))
    )
    return Path(torch_home) / "checkpoints" / WEIGHTS_FILENAME


def load_facenet_model(weights_path=None):
    """InceptionResnetV1 in eval mode with the VGGFace2 weights from weights_path
    (default: default_weights_path()). Raises WeightsMissing, never downloads."""
    path = Path(weights_path) if weights_path else default_weights_path()
    if not path.is_file():
        raise WeightsMissing(
            f"FaceNet weights not found: expected {WEIGHTS_FILENAME} at {path}. "
            "Run `python manage.py fetch_weights` (downloads it, or copies a file you give with "
            "--from PATH on a machine without internet), or use the dlib embedder."
        )
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = InceptionResnetV1(pretrained=None, classify=False)
    if any(key.startswith("logits.") for key in state):
        n_classes = state["logits.weight"].shape[0]
        model.logits = torch.nn.Linear(512, n_classes)
    # strict: a file with other layer names is the wrong model, not a near miss.
    model.load_state_dict(state, strict=True)
    return model.eval()


def fetch_facenet_weights(dest=None, source_file=None, timeout: float = 60.0) -> Path:
    """Put the VGGFace2 weights at dest (default: default_weights_path()).

    source_file: copy this local file, after checking it loads into
    InceptionResnetV1 with strict=True. Without it, download WEIGHTS_URL
    (raises RuntimeError with what to do when there is no network)."""
    dest = Path(dest) if dest else default_weights_path()
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        staged = Path(tmp) / WEIGHTS_FILENAME
        if source_file:
            shutil.copyfile(source_file, staged)
        else:
            try:
                with urllib.request.urlopen(WEIGHTS_URL, timeout=timeout) as response, open(staged, "wb") as out:
                    shutil.copyfileobj(response, out)
            except (urllib.error.URLError, OSError) as exc:
                raise RuntimeError(
                    f"Could not download {WEIGHTS_URL} ({exc}). On a machine without internet, download "
                    f"{WEIGHTS_FILENAME} elsewhere and run `python manage.py fetch_weights --from PATH`."
                ) from exc
        try:
            load_facenet_model(staged)
        except Exception as exc:  # noqa: BLE001 - any load failure means a bad file
            raise ValueError(f"{source_file or WEIGHTS_URL} is not a FaceNet VGGFace2 state dict: {exc}") from exc
        os.replace(staged, dest)  # atomic: a half-written file is never left at dest
    return dest


class FaceNetEmbedder:
    """512-d FaceNet embeddings of 160x160 crops aligned to FACENET_TEMPLATE_160."""

    name = MODEL_NAME
    dim = 512
    chip_size = 160

    def __init__(self, weights_path=None, batch_size: int = 32, device="cpu"):
        self.device = torch.device(device)
        self.model = load_facenet_model(weights_path).to(self.device)
        self.batch_size = batch_size

    def chips(self, image_rgb, faces) -> np.ndarray:
        return align_faces(image_rgb, faces, FACENET_TEMPLATE_160, self.chip_size)

    @torch.inference_mode()
    def embed_chips(self, chips: np.ndarray) -> np.ndarray:
        if len(chips) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        chips = torch.from_numpy(np.ascontiguousarray(chips)).to(self.device)  # one transfer in
        out = []
        for start in range(0, len(chips), self.batch_size):
            # facenet-pytorch's fixed_image_standardization
            x = (chips[start : start + self.batch_size].permute(0, 3, 1, 2).float() - 127.5) / 128.0
            out.append(self.model(x))  # the model L2-normalises its output
        vectors = torch.cat(out).cpu().numpy().astype(np.float32)  # one transfer out
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def embed(self, image_rgb, faces) -> np.ndarray:
        return self.embed_chips(self.chips(image_rgb, faces))
