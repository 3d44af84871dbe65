"""Write tests/engine/data/detection_reference.npz: the detector's and the dlib embedder's
outputs on dev-set photos, as the engine computed them before the device path existed.

test_device_path.py compares today's code with it. It was produced from main at 0ea54d2 (the
OpenCV/NumPy detector, one torch thread) with:

    git worktree add /tmp/rollcall-0ea54d2 0ea54d2
    .venv/bin/python tests/engine/make_detection_reference.py ../shared/datasets/faces \
        --code /tmp/rollcall-0ea54d2

Photos: the 14 group photos, the first photo of each identity, and every identity photo on which
the plain pass finds no face (the border retry's cases). Per face: the photo's index, box, score,
5 landmarks and the dlib_resnet_v1_flip embedding of the face aligned from those landmarks.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "data" / "detection_reference.npz"


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--code", type=Path, required=True, help="checkout whose recognition/engine is used")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(args.code.resolve()))
    from recognition.engine.detect import FaceDetector
    from recognition.engine.dlib_resnet import DlibResNetEmbedder
    from recognition.engine.images import load_image
    from recognition.engine.threads import configure_threads

    configure_threads(1)
    detector, embedder = FaceDetector(), DlibResNetEmbedder()
    names = sorted(str(p.relative_to(args.dataset)) for p in (args.dataset / "group").glob("*.jpg"))
    for folder in sorted(p for p in (args.dataset / "identities").iterdir() if p.is_dir()):
        photos = sorted(folder.glob("*.jpg")) + sorted(folder.glob("*.png"))
        for k, path in enumerate(photos):
            if k == 0 or not detector._detect(np.asarray(load_image(path)), 0.0):
                names.append(str(path.relative_to(args.dataset)))
    rows = {"photo": [], "box": [], "score": [], "landmarks": [], "embedding": []}
    for index, name in enumerate(names):
        pixels = np.asarray(load_image(args.dataset / name))
        faces = detector.detect(pixels)
        embeddings = embedder.embed(pixels, faces)
        for face, embedding in zip(faces, embeddings):
            rows["photo"].append(index)
            rows["box"].append(face.box)
            rows["score"].append(face.score)
            rows["landmarks"].append(face.landmarks)
            rows["embedding"].append(embedding)
        print(name, len(faces))
    OUT.parent.mkdir(exist_ok=True)
    np.savez_compressed(
        OUT,
        photos=np.array(names),
        photo=np.array(rows["photo"], dtype=np.int32),
        box=np.array(rows["box"], dtype=np.float32),
        score=np.array(rows["score"], dtype=np.float32),
        landmarks=np.array(rows["landmarks"], dtype=np.float32),
        embedding=np.array(rows["embedding"], dtype=np.float32),
    )
    print(f"{len(rows['photo'])} faces in {len(names)} photos -> {OUT}")


if __name__ == "__main__":
    main()
