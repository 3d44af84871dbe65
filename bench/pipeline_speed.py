"""Worker time for one 1600 px class photo with ~26 faces, ours vs the peer.

    python bench/pipeline_speed.py DATASET_DIR [--threads 1] [--repeats 3]

Uses group/ultralight_11.jpg (26 faces) upscaled to 1600 px on the long side,
the size a phone upload is reduced to. Prints median detect / embed ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
warnings.filterwarnings("ignore", message="pkg_resources is deprecated")

from recognition.engine.detect import FaceDetector  # noqa: E402
from recognition.engine.embedders import load_embedder  # noqa: E402
from recognition.engine.images import load_image  # noqa: E402
from recognition.engine.pipeline import analyse_photo  # noqa: E402
from recognition.engine.threads import configure_threads  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--embedder", choices=("auto", "dlib", "facenet"), default="auto")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-peer", action="store_true")
    args = parser.parse_args(argv)
    configure_threads(args.threads)

    image = load_image(args.dataset / "group" / "ultralight_11.jpg")
    zoom = 1600 / max(image.size)
    image = image.resize((round(image.width * zoom), round(image.height * zoom)), Image.LANCZOS)
    pixels = np.asarray(image)
    detector, embedder = FaceDetector(), load_embedder(args.embedder)

    analyse_photo(pixels, detector, embedder)  # warm-up
    runs = [analyse_photo(pixels, detector, embedder) for _ in range(args.repeats)]
    out = {
        "image": f"{image.width}x{image.height}",
        "embedder": embedder.name,
        "threads": args.threads,
        "faces": len(runs[-1]),
        "detect_ms": round(statistics.median(r.detect_ms for r in runs)),
        "embed_ms": round(statistics.median(r.embed_ms for r in runs)),
    }
    out["embed_ms_per_face"] = round(out["embed_ms"] / max(out["faces"], 1), 1)
    print(f"ours ({embedder.name}): {out['faces']} faces, detect {out['detect_ms']} ms, embed {out['embed_ms']} ms")

    if not args.no_peer:
        import face_recognition

        times = []
        for _ in range(max(1, args.repeats - 1)):
            start = time.perf_counter()
            locations = face_recognition.face_locations(pixels, number_of_times_to_upsample=1)
            detected = time.perf_counter()
            face_recognition.face_encodings(pixels, locations)
            times.append((len(locations), (detected - start) * 1000, (time.perf_counter() - detected) * 1000))
        out["peer_faces"] = times[-1][0]
        out["peer_detect_ms"] = round(statistics.median(t[1] for t in times))
        out["peer_embed_ms"] = round(statistics.median(t[2] for t in times))
        print(
            f"peer (HOG up1): {out['peer_faces']} faces, detect {out['peer_detect_ms']} ms, encode {out['peer_embed_ms']} ms"
        )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
