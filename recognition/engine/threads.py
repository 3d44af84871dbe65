"""Thread settings for the CPU models."""

from __future__ import annotations

import cv2
import torch


def configure_threads(n: int = 1) -> None:
    """Use n threads in torch and OpenCV for this process.

    Why 1 per worker process: torch's OpenMP threads spin-wait between
    operations. On the 2-core host, 2 torch threads ran 10-20x slower whenever
    another process (a second worker, the web server) held one core, and
    even alone 2 threads were no faster on MTCNN's many small operations
    (14 group photos: 2.5 s with 1 thread vs 3.2 s with 2 while the web tests
    ran). Scale with processes instead of threads.
    """
    n = max(1, int(n))
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(n)
    except RuntimeError:
        pass  # only settable before the first parallel op; intra-op count is what matters
    cv2.setNumThreads(n)
