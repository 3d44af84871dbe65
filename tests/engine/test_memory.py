"""keep_freed_memory: a process that allocates and frees a photo's worth of large blocks again
and again stops touching fresh pages. Each case runs in a fresh Python process, since the
allocator's settings are the process's."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Ten 16 MB blocks alive at once, freed, five times over: like a photo's tensors. Prints the
# page faults of the last three rounds.
ROUNDS = """
import resource, sys
import numpy as np
sys.path.insert(0, {root!r})
from recognition.engine.memory import keep_freed_memory
if {keep}:
    assert keep_freed_memory()
for round in range(5):
    if round == 2:
        start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    blocks = [np.ones(16 << 20, np.uint8) for _ in range(10)]
    del blocks
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start)
"""


def page_faults(keep: bool) -> int:
    code = ROUNDS.format(root=str(ROOT), keep=keep)
    return int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator settings")
def test_freed_blocks_are_reused_instead_of_faulted_in_again():
    pages = 3 * 10 * (16 << 20) // 4096
    assert page_faults(keep=False) > pages // 10  # glibc alone hands the freed heap back
    assert page_faults(keep=True) < pages // 100
