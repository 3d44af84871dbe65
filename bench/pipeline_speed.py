"""Worker time for one class photo of 26 faces, ours beside the peer's, at 1600 px and at a phone's
4032 px.

    python bench/pipeline_speed.py DATASET_DIR [--device auto|cpu|cuda] [--threads 1] [--repeats 3]
        [--sizes 1600 4032] [--no-peer]

The photo is group/ultralight_11.jpg (26 faces) upscaled to the size's long side: 1600 px is what
a browser upload is reduced to, 4032 x 3115 a phone's own photo. Per size, one JSON line: median
detect and embed ms for ours, on the device asked for, and in the same run the peer's
(face_recognition: dlib HOG detection + dlib's ResNet in C++, one thread) and our ratio to it. At
4032 px also ours looking for 20 px faces as before (`fixed_20px_*`), and the peer without
upsampling: its 80 px smallest face is below the photo's (126 px) and upsampling a 12 MP photo
would only cost it time. load_1min is the machine's load average as the run ends: wall times from
a busy machine are not comparable with a quiet one's. cpu_ms (and cpu_ratio_to_peer) count this
thread's CPU time, which at one thread is all the work, so they move less with the machine's load;
on a GPU, cpu_ms is the host's share.
"""

from __future__ import annotations

import argparse
import json
import os
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
from recognition.engine.device import describe_device, resolve_device  # noqa: E402
from recognition.engine.embedders import load_embedder  # noqa: E402
from recognition.engine.images import load_image  # noqa: E402
from recognition.engine.memory import keep_freed_memory  # noqa: E402
from recognition.engine.pipeline import analyse_photo  # noqa: E402
from recognition.engine.threads import configure_threads  # noqa: E402

PEER_UPSAMPLE = {1600: 1, 4032: 0}


def class_photo(dataset: Path, long_side: int) -> np.ndarray:
    image = load_image(dataset / "group" / "ultralight_11.jpg")
    zoom = long_side / max(image.size)
    return np.asarray(image.resize((round(image.width * zoom), round(image.height * zoom)), Image.LANCZOS))


def time_ours(pixels, detector, embedder, repeats: int) -> dict:
    analyse_photo(pixels, detector, embedder)  # warm-up
    runs, cpu = [], []
    for _ in range(repeats):
        start = time.thread_time()
        runs.append(analyse_photo(pixels, detector, embedder))
        cpu.append((time.thread_time() - start) * 1000)
    detect = statistics.median(r.detect_ms for r in runs)
    embed = statistics.median(r.embed_ms for r in runs)
    return {
        "faces": len(runs[-1]),
        "detect_ms": round(detect, 1),
        "embed_ms": round(embed, 1),
        "cpu_ms": round(statistics.median(cpu), 1),
    }


def time_peer(pixels, upsample: int, repeats: int) -> dict:
    import face_recognition

    times = []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.thread_time()
        locations = face_recognition.face_locations(pixels, number_of_times_to_upsample=upsample)
        detected = time.perf_counter()
        face_recognition.face_encodings(pixels, locations)
        cpu = (time.thread_time() - cpu_start) * 1000
        times.append((len(locations), (detected - start) * 1000, (time.perf_counter() - detected) * 1000, cpu))
    return {
        "peer_upsample": upsample,
        "peer_faces": times[-1][0],
        "peer_detect_ms": round(statistics.median(t[1] for t in times)),
        "peer_embed_ms": round(statistics.median(t[2] for t in times)),
        "peer_cpu_ms": round(statistics.median(t[3] for t in times)),
    }


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--embedder", choices=("auto", "dlib", "facenet"), default="auto")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1600, 4032], choices=sorted(PEER_UPSAMPLE))
    parser.add_argument("--no-peer", action="store_true")
    args = parser.parse_args(argv)
    configure_threads(args.threads)
    keep_freed_memory()  # as the worker does (recognition/processing.py)
    device = resolve_device(args.device)
    detector, embedder = FaceDetector(device=device), load_embedder(args.embedder, device=device)

    for size in args.sizes:
        pixels = class_photo(args.dataset, size)
        out = {
            "image": f"{pixels.shape[1]}x{pixels.shape[0]}",
            "device": describe_device(device),
            "glue": detector.glue,
            "embedder": embedder.name,
            "threads": args.threads,
            **time_ours(pixels, detector, embedder, args.repeats),
        }
        out["total_ms"] = round(out["detect_ms"] + out["embed_ms"], 1)
        out["photos_per_minute"] = round(60_000 / out["total_ms"])
        print(
            f"{out['image']} ours ({out['device']}, {embedder.name}): {out['faces']} faces, "
            f"detect {out['detect_ms']} ms, embed {out['embed_ms']} ms"
        )
        if size > 1600:
            before = time_ours(pixels, FaceDetector(min_face_fraction=0, device=device), embedder, 1)
            out.update({f"fixed_20px_{key}": value for key, value in before.items()})
            print(f"  looking for 20 px faces as before: {before['faces']} faces, detect {before['detect_ms']} ms")
        if not args.no_peer:
            out.update(time_peer(pixels, PEER_UPSAMPLE[size], max(1, args.repeats - 1)))
            peer_total = out["peer_detect_ms"] + out["peer_embed_ms"]
            out["ratio_to_peer"] = round(out["total_ms"] / peer_total, 3)
            out["cpu_ratio_to_peer"] = round(out["cpu_ms"] / out["peer_cpu_ms"], 3)
            print(
                f"  peer (HOG upsample {out['peer_upsample']}): {out['peer_faces']} faces, detect "
                f"{out['peer_detect_ms']} ms, encode {out['peer_embed_ms']} ms; ours / peer = {out['ratio_to_peer']}"
            )
        out["load_1min"] = round(os.getloadavg()[0], 2)
        print(json.dumps(out))


if __name__ == "__main__":
    main()
