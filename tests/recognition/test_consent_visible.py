"""Photos that wait for consent are said, not silently left out: import_students and
`manage.py recognize` tell how many photos wait and whom that leaves unrecognisable."""

import json
import shutil

import pytest
from django.core.management import call_command

from students.consent import record_consent
from students.models import Student

pytestmark = pytest.mark.django_db

PEOPLE = ["BBT_Sheldon", "BBT_Raj", "BBT_Bernadette"]  # 15 photos, all three in faceapi_bbt4.jpg


@pytest.fixture
def class_folder(faces_dataset, tmp_path):
    for name in PEOPLE:
        shutil.copytree(faces_dataset / "identities" / name, tmp_path / "class" / name)
    return tmp_path / "class"


def test_an_import_without_consent_says_its_photos_wait_for_it(class_folder, capsys):
    call_command("import_students", str(class_folder), course="MATH1")
    err = capsys.readouterr().err
    assert "15 photo(s) waiting for consent: no student of MATH1 can be recognised yet." in err

    record_consent(Student.objects.filter(full_name="BBT Raj"), None, "Raj")
    call_command("import_students", str(class_folder), course="MATH1")
    assert "10 photo(s) waiting for consent: 2 student(s) of MATH1 cannot be recognised yet." in capsys.readouterr().err


def test_an_import_with_consent_or_without_a_course_says_what_applies(class_folder, faces_dataset, capsys):
    call_command("import_students", str(class_folder), consent="the students")
    assert "waiting for consent" not in capsys.readouterr().err
    shutil.copytree(faces_dataset / "identities" / "BBT_Howard", class_folder.parent / "more" / "BBT_Howard")
    call_command("import_students", str(class_folder.parent / "more"))
    assert "5 photo(s) waiting for consent: no student of this import can be recognised yet." in capsys.readouterr().err


@pytest.mark.slow
def test_recognize_says_that_the_course_waits_for_consent(class_folder, faces_dataset, engine, capsys):
    call_command("import_students", str(class_folder), course="MATH1")
    capsys.readouterr()
    call_command("recognize", str(faces_dataset / "group" / "faceapi_bbt4.jpg"), course="MATH1", json=True)
    out, err = capsys.readouterr()
    assert "15 photo(s) waiting for consent: no student of MATH1 can be recognised yet." in err
    faces = json.loads(out)["faces"]  # stdout stays one JSON object
    assert len(faces) == 6 and not any(face["student"] or face["suggestion"] for face in faces)

    record_consent(Student.objects.all(), None, "the students")
    call_command("recognize", str(faces_dataset / "group" / "faceapi_bbt4.jpg"), course="MATH1")
    out, err = capsys.readouterr()
    assert "waiting for consent" not in err
    assert "BBT Sheldon" in out
