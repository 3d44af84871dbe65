"""Time match.decide() for one class photo against a whole school's gallery, on one core.

    python bench/match_speed.py [--faces 40] [--students 20000] [--photos 5] [--repeats 20]

Random unit vectors (128-d float32) stand in for embeddings: the time depends on the shapes,
not on the values. Printed beside a plain NumPy reference measured in the same run: the bare
matrix product probes @ gallery.T that any 1:N search must pay. The last line is JSON.
"""

from __future__ import annotations

import os

# One core, as a worker process runs: set before NumPy loads its BLAS.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recognition.engine.calibration import load_operating_point  # noqa: E402
from recognition.engine.match import Gallery, decide  # noqa: E402
from recognition.engine.quality import FaceQuality  # noqa: E402


def unit_rows(rng, n, dim):
    rows = rng.standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def alternated_medians(functions, repeats):
    """Median ms of each function, called in turn within every repeat: other work on a shared
    machine then weighs on each alike (measured one after the other, a change of load between
    them moved their ratio by 0.3)."""
    times = {name: [] for name in functions}
    for fn in functions.values():
        fn()  # warm-up
    for _ in range(repeats):
        for name, fn in functions.items():
            start = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=40)
    parser.add_argument("--students", type=int, default=20_000)
    parser.add_argument("--photos", type=int, default=5)
    parser.add_argument("--roster", type=int, default=30)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(args.students), args.photos)
    gallery = Gallery(unit_rows(rng, len(labels), args.dim), labels.tolist())
    probes = unit_rows(rng, args.faces, args.dim)
    roster = list(range(args.roster))
    qualities = [FaceQuality(size_px=80.0, sharpness=1000.0, yaw=0.1)] * args.faces
    point = load_operating_point("dlib_resnet_v1_flip")

    medians = alternated_medians(
        {
            "reference": lambda: probes @ gallery.embeddings.T,
            "distances": lambda: gallery.student_distances(probes),
            "decide": lambda: decide(probes, gallery, roster, qualities, point),
        },
        args.repeats,
    )
    reference_ms, distances_ms, decide_ms = medians["reference"], medians["distances"], medians["decide"]
    out = {
        "faces": args.faces,
        "students": args.students,
        "embeddings": len(labels),
        "dim": args.dim,
        "threads": 1,
        "numpy_matmul_reference_ms": round(reference_ms, 2),
        "student_distances_ms": round(distances_ms, 2),
        "decide_ms": round(decide_ms, 2),
        "decide_over_reference": round(decide_ms / reference_ms, 3),
        "load_1min": round(os.getloadavg()[0], 2),
    }
    print(
        f"{args.faces} faces x {len(labels)} embeddings ({args.students} students): plain probes @ gallery.T "
        f"{reference_ms:.2f} ms; student distances {distances_ms:.2f} ms; decide (roster {args.roster}) {decide_ms:.2f} ms"
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
