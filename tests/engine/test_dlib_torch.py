"""The PyTorch port of dlib's face ResNet must be the same model as dlib's C++:
same descriptors (to float32 rounding) on real aligned chips, same distances."""

import numpy as np
import pytest

from recognition.engine.images import load_image


@pytest.fixture(scope="module")
def real_chips(faces_dataset, detector, dlib_embedder):
    """12 aligned 150x150 chips: the largest face of 6 identities' first photos
    and 6 faces of a class photo (small, varied faces)."""
    chips = []
    for folder in sorted(p for p in (faces_dataset / "identities").iterdir() if p.is_dir())[:6]:
        pixels = np.asarray(load_image(sorted(folder.iterdir())[0]))
        faces = detector.detect(pixels)
        chips.append(dlib_embedder.chips(pixels, [max(faces, key=lambda f: f.area)]))
    pixels = np.asarray(load_image(faces_dataset / "group" / "ultralight_11.jpg"))
    chips.append(dlib_embedder.chips(pixels, detector.detect(pixels)[:6]))
    chips = np.concatenate(chips)
    assert len(chips) >= 8
    return chips


@pytest.fixture(scope="module")
def dlib_cpp_descriptors(real_chips):
    import dlib

    from recognition.engine.dlib_resnet import dlib_model_path

    net = dlib.face_recognition_model_v1(str(dlib_model_path("dlib_face_recognition_resnet_model_v1.dat")))
    return np.asarray(net.compute_face_descriptor([np.ascontiguousarray(c) for c in real_chips]), dtype=np.float32)


def test_torch_network_reproduces_dlib_descriptors(real_chips, dlib_cpp_descriptors):
    import torch

    from recognition.engine.dlib_resnet import dlib_model_path
    from recognition.engine.dlib_torch import load_dlib_face_resnet

    net = load_dlib_face_resnet(dlib_model_path("dlib_face_recognition_resnet_model_v1.dat"))
    with torch.inference_mode():
        ours = net(torch.from_numpy(real_chips)).numpy()
    assert ours.shape == dlib_cpp_descriptors.shape == (len(real_chips), 128)
    # measured: 4e-7 (float32 rounding; descriptor components are ~0.1)
    assert np.abs(ours - dlib_cpp_descriptors).max() < 1e-4


def test_embedder_distances_match_dlib(real_chips, dlib_cpp_descriptors, dlib_embedder):
    ours = dlib_embedder.descriptors(real_chips)  # channels_last, batched, normalised
    theirs = dlib_cpp_descriptors / np.linalg.norm(dlib_cpp_descriptors, axis=1, keepdims=True)
    assert np.abs(ours - theirs).max() < 1e-4
    dist_ours = np.linalg.norm(ours[:, None] - ours[None], axis=2)
    dist_theirs = np.linalg.norm(theirs[:, None] - theirs[None], axis=2)
    assert np.abs(dist_ours - dist_theirs).max() < 1e-4
    # one face at a time gives the same vectors as the batch
    assert np.abs(dlib_embedder.descriptors(real_chips[:1]) - ours[:1]).max() < 1e-5


def test_an_embedding_is_the_mean_of_the_face_and_its_mirror_image(real_chips, dlib_embedder):
    mirrored = np.ascontiguousarray(real_chips[:, :, ::-1])
    expected = dlib_embedder.descriptors(real_chips) + dlib_embedder.descriptors(mirrored)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert np.abs(dlib_embedder.embed_chips(real_chips) - expected).max() < 1e-5
    # and so a face and its mirror image get the same embedding
    assert np.abs(dlib_embedder.embed_chips(mirrored) - expected).max() < 1e-5
