import pytest
from django.core.management import call_command

from recognition.models import FacePhoto
from students.models import Course, Student
from tests.helpers import photo_jpeg

pytestmark = pytest.mark.django_db


def test_import_of_the_shared_dataset_creates_every_student_and_photo_once(faces_dataset, capsys):
    call_command("import_students", str(faces_dataset / "identities"), course="FACES")
    assert Student.objects.count() == 30
    assert FacePhoto.objects.count() == 189
    assert Course.objects.get(code="FACES").students.count() == 30
    assert Student.objects.filter(full_name="George W Bush").exists()

    call_command("import_students", str(faces_dataset / "identities"), course="FACES")
    assert Student.objects.count() == 30
    assert FacePhoto.objects.count() == 189
    assert "0 new student(s) and 0 new photo(s)" in capsys.readouterr().out


def test_unreadable_files_are_reported_by_path_and_skipped(tmp_path, capsys):
    folder = tmp_path / "Jane_Doe"
    folder.mkdir()
    good = photo_jpeg()
    (folder / "good.jpg").write_bytes(good)
    (folder / "notes.jpg").write_text("this is not a photo")
    (folder / "truncated.jpg").write_bytes(good[:400])

    call_command("import_students", str(tmp_path))

    student = Student.objects.get(full_name="Jane Doe")
    assert student.face_photos.count() == 1
    err = capsys.readouterr().err
    assert str(folder / "notes.jpg") in err
    assert str(folder / "truncated.jpg") in err


def test_import_of_a_missing_folder_says_so(tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="is not a folder"):
        call_command("import_students", str(tmp_path / "nowhere"))
