"""FACE_EMBEDDER=auto picks only an embedder with an operating point on record."""

import logging

import pytest
import torch

from recognition.engine import facenet
from recognition.engine.calibration import is_calibrated
from recognition.engine.embedders import load_embedder


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    """An untrained InceptionResnetV1 state dict of the VGGFace2 shape: only the weights' presence
    matters here (the real file is not on this offline machine)."""
    from facenet_pytorch import InceptionResnetV1

    model = InceptionResnetV1(pretrained=None, classify=False)
    model.logits = torch.nn.Linear(512, facenet.VGGFACE2_CLASSES)
    path = tmp_path_factory.mktemp("weights") / facenet.WEIGHTS_FILENAME
    torch.save(model.state_dict(), path)
    return path


def test_auto_keeps_dlib_when_facenet_weights_exist_but_it_is_not_calibrated(weights_file, caplog):
    assert not is_calibrated(facenet.MODEL_NAME)
    with caplog.at_level(logging.INFO, logger="recognition.engine.embedders"):
        assert load_embedder("auto", facenet_weights=weights_file).name == "dlib_resnet_v1_flip"
    assert "FaceNet is not calibrated" in caplog.text and "--embedder facenet" in caplog.text


def test_auto_takes_facenet_when_the_admin_set_its_threshold(weights_file):
    assert load_embedder("auto", facenet_weights=weights_file, threshold_set=True).name == facenet.MODEL_NAME
