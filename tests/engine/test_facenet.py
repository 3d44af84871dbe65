import numpy as np
import pytest
import torch

from recognition.engine import facenet
from recognition.engine.embedders import load_embedder
from recognition.engine.images import load_image


@pytest.fixture(scope="module")
def untrained_state_dict_file(tmp_path_factory):
    """A state-dict file written from a freshly initialised (untrained)
    InceptionResnetV1 with the VGGFace2 classifier shape. It tests only the
    loading path (file -> strict load -> batched embedding); the real VGGFace2
    weights are not on this offline machine, and nothing here measures
    recognition."""
    from facenet_pytorch import InceptionResnetV1

    model = InceptionResnetV1(pretrained=None, classify=False)
    model.logits = torch.nn.Linear(512, facenet.VGGFACE2_CLASSES)
    path = tmp_path_factory.mktemp("weights") / facenet.WEIGHTS_FILENAME
    torch.save(model.state_dict(), path)
    return path


def test_missing_weights_name_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(facenet.WeightsMissing) as info:
        facenet.load_facenet_model()
    message = str(info.value)
    assert "python manage.py fetch_weights" in message
    assert facenet.WEIGHTS_FILENAME in message and str(tmp_path / "checkpoints") in message


def test_auto_falls_back_to_dlib_without_facenet_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert load_embedder("auto").name == "dlib_resnet_v1_flip"


def test_facenet_loads_a_state_dict_file_and_embeds_in_batches(untrained_state_dict_file, portrait, detector):
    embedder = load_embedder("facenet", facenet_weights=untrained_state_dict_file)
    assert embedder.name == "facenet_vggface2" and embedder.dim == 512
    pixels = np.asarray(load_image(portrait))
    faces = detector.detect(pixels)
    vectors = embedder.embed(pixels, faces + faces)
    assert vectors.shape == (2, 512) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert embedder.chips(pixels, faces).shape == (1, 160, 160, 3)


def test_fetch_copies_a_verified_local_file_and_refuses_a_wrong_one(untrained_state_dict_file, tmp_path):
    dest = facenet.fetch_facenet_weights(
        tmp_path / "ckpt" / facenet.WEIGHTS_FILENAME, source_file=untrained_state_dict_file
    )
    assert dest.is_file() and dest.stat().st_size == untrained_state_dict_file.stat().st_size
    wrong = tmp_path / "wrong.pt"
    torch.save({"conv.weight": torch.zeros(1)}, wrong)
    target = tmp_path / "other" / facenet.WEIGHTS_FILENAME
    with pytest.raises(ValueError, match="not a FaceNet VGGFace2 state dict"):
        facenet.fetch_facenet_weights(target, source_file=wrong)
    assert not target.exists()
