"""The C allocator's settings for a process that runs the face engine."""

from __future__ import annotations

import ctypes

# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# glibc's ceiling for M_MMAP_THRESHOLD on 64-bit systems (DEFAULT_MMAP_THRESHOLD_MAX).
_LARGEST_HEAP_BLOCK = 32 << 20
# Free memory at the top of the heap is given back to the system only above this.
_KEPT_FREE = 1 << 30


def keep_freed_memory() -> bool:
    """Serve blocks up to 32 MB from the heap and keep what a photo freed for the next one.

    Why: a photo allocates and frees hundreds of MB of tensors (pyramid levels, crops, feature
    maps). By default glibc gives the heap's free top back to the system once it passes 2x its
    (self-adjusting) mmap threshold, so every photo touched fresh pages again: ~35,000-47,000
    page faults and 40-87 ms of system CPU a photo on one thread (the 1600 and 4032 px class
    photos, bench/pipeline_speed.py), against ~3,500-11,000 and 5-21 ms with this, for ~20 MB
    more peak memory (1,044 -> 1,065 MB). The numbers computed are the same.

    Returns False (and changes nothing) where the C library is not glibc."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _LARGEST_HEAP_BLOCK)) and bool(mallopt(_M_TRIM_THRESHOLD, _KEPT_FREE))
