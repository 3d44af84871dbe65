"""Fixtures for the face engine tests: plain pytest, no Django, real photos."""

import csv

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def private_media_root():
    """Overrides the Django-settings fixture of tests/conftest.py: the engine
    has no Django and these tests must not need a configured site."""
    return None


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    from recognition.engine.threads import configure_threads

    configure_threads(1)


@pytest.fixture(scope="session")
def detector():
    from recognition.engine.detect import FaceDetector

    return FaceDetector()


@pytest.fixture(scope="session")
def dlib_embedder():
    from recognition.engine.dlib_resnet import DlibResNetEmbedder

    return DlibResNetEmbedder()


@pytest.fixture(scope="session")
def group_boxes(faces_dataset):
    boxes = {}
    with open(faces_dataset / "group_boxes.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            boxes.setdefault(row["file"], []).append(
                ((float(row["x1"]), float(row["y1"]), float(row["x2"]), float(row["y2"])), row["label"])
            )
    return boxes


@pytest.fixture(scope="session")
def portrait(faces_dataset):
    """Path of a plain one-face portrait (LFW, 250x250)."""
    return faces_dataset / "identities" / "George_W_Bush" / "George_W_Bush_0001.jpg"


@pytest.fixture(scope="session")
def embed_largest(detector, dlib_embedder):
    """Embedding of the largest face in an identity image (cached per path)."""
    from recognition.engine.images import load_image

    cache = {}

    def embed(path):
        if path not in cache:
            pixels = np.asarray(load_image(path))
            faces = detector.detect(pixels)
            face = max(faces, key=lambda f: f.area)
            cache[path] = dlib_embedder.embed(pixels, [face])[0]
        return cache[path]

    return embed
