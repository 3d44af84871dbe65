"""Which device the face networks run on (FACE_DEVICE)."""

from __future__ import annotations

import torch

DEVICE_NAMES = ("auto", "cpu", "cuda")


class DeviceUnavailable(RuntimeError):
    """FACE_DEVICE asks for a device this machine does not have; str(exc) says what to do."""


def resolve_device(name: str = "auto") -> torch.device:
    """auto: the GPU when torch sees one, else the CPU; cpu; cuda (DeviceUnavailable without one)."""
    if name not in DEVICE_NAMES:
        raise ValueError(f"unknown face device {name!r}; choose one of {', '.join(DEVICE_NAMES)}")
    # Full float32 precision on a GPU: by default cuDNN convolutions use TF32 (a 10-bit mantissa)
    # on Ampere and later, which moved descriptors by up to 0.017 per component on an H200.
    # torch 2.14 refuses a mix of these flags and the older allow_tf32 ones, so only these are set.
    torch.backends.cuda.matmul.fp32_precision = "ieee"
    torch.backends.cudnn.fp32_precision = "ieee"
    if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise DeviceUnavailable(
            "FACE_DEVICE=cuda, but torch sees no CUDA GPU on this machine (no NVIDIA driver, no GPU "
            "given to this container, or a CPU-only torch build). Set FACE_DEVICE=auto or cpu to run on "
            "the CPU."
        )
    return torch.device("cuda")


def describe_device(device: torch.device) -> str:
    """What a log line says about the device: the GPU's name, or the CPU's torch threads."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} torch thread{'s' if torch.get_num_threads() != 1 else ''})"
