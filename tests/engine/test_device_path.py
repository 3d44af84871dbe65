"""The engine on a device (FACE_DEVICE): the detector's torch path and the embedders, run here on
the CPU through the code a GPU runs, against what the engine computed before it had a device path.

The reference (data/detection_reference.npz) was computed on main at 0ea54d2 by
make_detection_reference.py (its docstring says how): boxes, scores, landmarks and
dlib_resnet_v1_flip embeddings of the 14 group photos and 33 identity photos."""

from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.ops import box_iou

from recognition.engine.detect import Face, FaceDetector
from recognition.engine.device import DeviceUnavailable, describe_device, resolve_device
from recognition.engine.images import load_image
from recognition.engine.pipeline import analyse_photo

REFERENCE = np.load(Path(__file__).parent / "data" / "detection_reference.npz")


def reference_photos(faces_dataset):
    """(photo path, its reference faces as a dict of arrays) for every photo of the reference."""
    for index, name in enumerate(REFERENCE["photos"]):
        rows = REFERENCE["photo"] == index
        yield (
            faces_dataset / str(name),
            {key: REFERENCE[key][rows] for key in ("box", "landmarks", "embedding", "score")},
        )


@pytest.fixture(scope="module")
def device_path_detector():
    return FaceDetector(device="cpu", glue="torch")


def test_the_reference_covers_group_photos_and_border_retries():
    names = [str(name) for name in REFERENCE["photos"]]
    assert sum(name.startswith("group/") for name in names) == 14
    assert "identities/BBT_Stuart/stuart5.jpg" in names  # found only by the border retry
    assert len(REFERENCE["box"]) == 166


def test_the_opencv_path_gives_the_reference_faces_unchanged(faces_dataset, detector):
    for path, expected in reference_photos(faces_dataset):
        faces = detector.detect(np.asarray(load_image(path)))
        assert np.array_equal(np.array([f.box for f in faces], dtype=np.float32).reshape(-1, 4), expected["box"]), path
        assert np.array_equal(np.array([f.landmarks for f in faces]).reshape(-1, 5, 2), expected["landmarks"]), path


def test_the_device_path_finds_the_same_faces_and_embeddings(faces_dataset, device_path_detector, dlib_embedder):
    worst_iou, worst_landmark, worst_embedding = 1.0, 0.0, 0.0
    for path, expected in reference_photos(faces_dataset):
        pixels = np.asarray(load_image(path))
        result = analyse_photo(pixels, device_path_detector, dlib_embedder)
        assert len(result) == len(expected["box"]), path
        if not len(result):
            continue
        iou = box_iou(torch.tensor([f.box for f in result]), torch.from_numpy(expected["box"])).numpy()
        match = iou.argmax(0)  # each reference face's box among ours
        assert sorted(match.tolist()) == list(range(len(result))), path
        worst_iou = min(worst_iou, float(iou.max(0).min()))
        landmarks = np.array([result[k].landmarks for k in match])
        worst_landmark = max(worst_landmark, float(np.abs(landmarks - expected["landmarks"]).max()))
        embeddings = np.array([result[k].embedding for k in match])
        worst_embedding = max(worst_embedding, float(np.abs(embeddings - expected["embedding"]).max()))
    assert worst_iou >= 0.95
    assert worst_landmark < 0.05
    assert worst_embedding < 1e-4


def test_the_embedder_on_the_device_path_gives_the_reference_embeddings(faces_dataset, dlib_embedder):
    for path, expected in reference_photos(faces_dataset):
        faces = [Face(tuple(b), s, p) for b, s, p in zip(expected["box"], expected["score"], expected["landmarks"])]
        got = dlib_embedder.embed(np.asarray(load_image(path)), faces)
        assert got.shape == expected["embedding"].shape and np.abs(got - expected["embedding"]).max() < 1e-4, path


def test_a_phone_photo_on_the_device_path_finds_what_opencv_finds(faces_dataset, detector, device_path_detector):
    # Large photos are searched in a shrunk copy (DEFAULT_MIN_FACE_FRACTION): the copy, its
    # pyramid and crops go through the device path's resize too.
    image = load_image(faces_dataset / "group" / "ultralight_20.jpg")
    zoom = 3000 / max(image.size)
    pixels = np.asarray(image.resize((round(image.width * zoom), round(image.height * zoom))))
    ours = device_path_detector.detect(pixels)
    theirs = detector.detect(pixels)
    assert len(ours) == len(theirs) == 10
    iou = box_iou(torch.tensor([f.box for f in ours]), torch.tensor([f.box for f in theirs])).numpy()
    assert iou.max(0).min() >= 0.95


def test_opencv_glue_is_for_the_cpu_only():
    with pytest.raises(ValueError, match="glue must be"):
        FaceDetector(device="cuda", glue="opencv")
    assert FaceDetector().glue == "opencv" and FaceDetector(device="cpu", glue="torch").glue == "torch"


def test_face_device_auto_is_the_gpu_when_torch_sees_one():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="unknown face device 'gpu'"):
        resolve_device("gpu")


def test_face_device_cuda_on_a_machine_without_one_says_what_to_do(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # this machine, as torch sees it
    with pytest.raises(DeviceUnavailable, match="FACE_DEVICE=cuda.*Set FACE_DEVICE=auto or cpu"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"
    assert describe_device(resolve_device("auto")).startswith("cpu (")


def test_full_float32_precision_is_asked_of_a_gpu():
    # TF32 convolutions moved dlib descriptors by up to 0.017 per component on an H200.
    resolve_device("auto")
    assert torch.backends.cuda.matmul.fp32_precision == "ieee"
    assert torch.backends.cudnn.conv.fp32_precision == "ieee"
