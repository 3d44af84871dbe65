"""The engine on a device against the stored reference of its CPU outputs: same faces, boxes,
landmarks and embeddings (tests/engine/data/detection_reference.npz, 166 faces in 47 dev photos;
tests/engine/make_detection_reference.py says how it was made).

    python bench/device_check.py DATASET_DIR [--device cuda] [--glue torch|opencv]

The tests run the device path on the CPU (tests/engine/test_device_path.py); this is the same
comparison for a machine with a GPU, where a test could not run in CI. One JSON line: the number
of faces, photos whose face count differs, the smallest IoU between a reference box and ours, the
largest landmark (px) and embedding component differences.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
warnings.filterwarnings("ignore", message="pkg_resources is deprecated")

from torchvision.ops import box_iou  # noqa: E402

from recognition.engine.detect import FaceDetector  # noqa: E402
from recognition.engine.device import describe_device, resolve_device  # noqa: E402
from recognition.engine.dlib_resnet import DlibResNetEmbedder  # noqa: E402
from recognition.engine.images import load_image  # noqa: E402
from recognition.engine.pipeline import analyse_photo  # noqa: E402
from recognition.engine.threads import configure_threads  # noqa: E402

REFERENCE = ROOT / "tests" / "engine" / "data" / "detection_reference.npz"


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--glue", choices=("torch", "opencv"), default="torch")
    args = parser.parse_args(argv)
    configure_threads(1)
    device = resolve_device(args.device)
    detector = FaceDetector(device=device, glue=args.glue)
    embedder = DlibResNetEmbedder(device=device)
    reference = np.load(REFERENCE)
    counts_differ, min_iou, landmark_px, embedding = [], 1.0, 0.0, 0.0
    for index, name in enumerate(reference["photos"]):
        rows = reference["photo"] == index
        result = analyse_photo(np.asarray(load_image(args.dataset / str(name))), detector, embedder)
        if len(result) != rows.sum():
            counts_differ.append(str(name))
            continue
        if not len(result):
            continue
        iou = box_iou(torch.tensor([f.box for f in result]), torch.from_numpy(reference["box"][rows])).numpy()
        match = iou.argmax(0)
        min_iou = min(min_iou, float(iou.max(0).min()))
        landmarks = np.array([result[k].landmarks for k in match])
        landmark_px = max(landmark_px, float(np.abs(landmarks - reference["landmarks"][rows]).max()))
        vectors = np.array([result[k].embedding for k in match])
        embedding = max(embedding, float(np.abs(vectors - reference["embedding"][rows]).max()))
    print(
        json.dumps(
            {
                "device": describe_device(device),
                "glue": detector.glue,
                "reference_faces": len(reference["box"]),
                "photos_with_other_face_counts": counts_differ,
                "min_iou": round(min_iou, 5),
                "max_landmark_px": round(landmark_px, 5),
                "max_embedding_difference": float(f"{embedding:.2e}"),
            }
        )
    )


if __name__ == "__main__":
    main()
