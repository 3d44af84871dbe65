import json
import shutil

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from tests.factories import make_course
from tests.helpers import enrol_identities

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_recognize_prints_every_face_as_json_with_names_or_null(faces_dataset, engine, capsys):
    # group_identities.csv: bbt3 shows Sheldon, Howard and Raj, and two people outside the set.
    enrol_identities(faces_dataset, ["BBT_Sheldon", "BBT_Howard", "BBT_Raj", "BBT_Stuart"], make_course("BBT"))
    photo = faces_dataset / "group" / "faceapi_bbt3.jpg"
    call_command("recognize", str(photo), course="BBT", json=True)
    faces = json.loads(capsys.readouterr().out)["faces"]
    assert len(faces) == 5
    assert sorted(f["student"] for f in faces if f["student"]) == ["BBT Howard", "BBT Raj", "BBT Sheldon"]
    for face in faces:
        x1, y1, x2, y2 = face["box"]
        assert 0 <= x1 < x2 and 0 <= y1 < y2
        # distance: to the nearest student, marked or not; a suggestion only when not marked
        assert face["distance"] is not None
        assert face["suggestion"] is None or (face["student"] is None and face["suggestion"]["student"])


def test_recognize_draws_the_boxes_into_a_copy_of_the_photo(faces_dataset, engine, tmp_path):
    enrol_identities(faces_dataset, ["BBT_Sheldon"], make_course("BBT"))
    photo = faces_dataset / "group" / "faceapi_bbt3.jpg"
    out = tmp_path / "annotated.jpg"
    call_command("recognize", str(photo), course="BBT", annotate=str(out))
    with Image.open(photo) as original, Image.open(out) as drawn:
        assert drawn.size == original.size
        assert drawn.convert("RGB").tobytes() != original.convert("RGB").tobytes()


def test_recognize_refuses_an_unknown_course(faces_dataset):
    with pytest.raises(CommandError, match="No course"):
        call_command("recognize", str(faces_dataset / "group" / "faceapi_bbt3.jpg"), course="NOPE")


def test_align_faces_writes_one_crop_per_photo_in_the_same_folders(faces_dataset, engine, tmp_path):
    source = tmp_path / "in"
    for name in ["BBT_Raj", "Clapton"]:
        shutil.copytree(faces_dataset / "identities" / name, source / name)
    (source / "Clapton" / "broken.jpg").write_bytes(b"not a photo")
    call_command("align_faces", str(source), str(tmp_path / "out"), image_size=160, margin=32)
    crops = sorted((tmp_path / "out").rglob("*.png"))
    assert len(crops) == 5 + 2
    assert {p.parent.name for p in crops} == {"BBT_Raj", "Clapton"}
    for crop in crops:
        with Image.open(crop) as image:
            assert image.size == (160, 160)


def test_fetch_weights_installs_a_local_file_after_checking_it_loads(tmp_path):
    """Tests only the loading path: the file is written by this test from a freshly initialised
    InceptionResnetV1 (random weights), because the real VGGFace2 file cannot be downloaded here."""
    import torch
    from facenet_pytorch import InceptionResnetV1

    source = tmp_path / "downloaded.pt"
    torch.save(InceptionResnetV1(pretrained=None).state_dict(), source)
    dest = tmp_path / "weights" / "vggface2.pt"
    call_command("fetch_weights", source=str(source), dest=str(dest))
    assert dest.read_bytes() == source.read_bytes()

    bad = tmp_path / "bad.pt"
    torch.save({"something": torch.zeros(3)}, bad)
    with pytest.raises(CommandError, match="not a FaceNet"):
        call_command("fetch_weights", source=str(bad), dest=str(tmp_path / "other.pt"))
    assert not (tmp_path / "other.pt").exists()
