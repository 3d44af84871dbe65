"""Phone-size photos: the dev set's 14 group photos upscaled to a phone's 4032 px, detected with the
detector's default minimum face (1/75 of the short side, in a shrunk copy) and, in the same run,
looking for 20 px faces as before; both scored against group_boxes.csv like bench/evaluate.py
(a face is found at IoU >= 0.4, 1:1, greedy by score).

    python bench/phone_photos.py DATASET_DIR [--size 4032] [--threads 1]

One line per photo, the totals, then one JSON line. Upscaling cannot make a photo sharper than it
was, so this checks the minimum face and the shrunk copy (no face lost, no false box added), not
what a real 12 MP photo holds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
warnings.filterwarnings("ignore", message="pkg_resources is deprecated")

from evaluate import read_boxes, score_detections  # noqa: E402

from recognition.engine.detect import FaceDetector  # noqa: E402
from recognition.engine.images import load_image  # noqa: E402
from recognition.engine.threads import configure_threads  # noqa: E402


def detect(detector, pixels):
    start = time.perf_counter()
    faces = detector.detect(pixels)
    return [(f.box, f.score) for f in faces], (time.perf_counter() - start) * 1000


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--size", type=int, default=4032)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    configure_threads(args.threads)
    ours, before = FaceDetector(), FaceDetector(min_face_fraction=0)

    print("| photo | size | min face px | counted | found | false | dup | ms | before: found | false | dup | ms |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    totals = dict.fromkeys(
        ("counted", "found", "false", "dup", "ms", "before_found", "before_false", "before_dup", "before_ms"), 0
    )
    for name, truth in read_boxes(args.dataset).items():
        image = load_image(args.dataset / name)
        zoom = args.size / max(image.size)
        pixels = np.asarray(image.resize((round(image.width * zoom), round(image.height * zoom)), Image.LANCZOS))
        scaled = [(tuple(v * zoom for v in box), label) for box, label in truth]
        ours.detect(pixels)  # warm-up
        now, ms = detect(ours, pixels)
        then, before_ms = detect(before, pixels)
        found, false, dup, counted = score_detections(now, scaled)
        b_found, b_false, b_dup, _ = score_detections(then, scaled)
        min_face = ours.min_face_for(*pixels.shape[:2])
        print(
            f"| {Path(name).name} | {pixels.shape[1]}x{pixels.shape[0]} | {min_face:.0f} | {counted} | {found} | "
            f"{false} | {dup} | {ms:.0f} | {b_found} | {b_false} | {b_dup} | {before_ms:.0f} |"
        )
        for key, value in zip(totals, (counted, found, false, dup, ms, b_found, b_false, b_dup, before_ms)):
            totals[key] += value
    print(
        f"| **total** | | | {totals['counted']} | {totals['found']} | {totals['false']} | {totals['dup']} | "
        f"{totals['ms']:.0f} | {totals['before_found']} | {totals['before_false']} | {totals['before_dup']} | "
        f"{totals['before_ms']:.0f} |"
    )
    totals = {key: round(value) for key, value in totals.items()}
    print(json.dumps({"size": args.size, "threads": args.threads, **totals, "load_1min": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
