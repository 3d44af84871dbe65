"""import_students: a folder of student folders becomes students and enrolment photos, once; it
never follows a link, never merges two people by name, reports what it skips by path, and records
consent only when told who gave it."""

import io
import zipfile
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from recognition.enrolment import add_enrolment_photo
from recognition.models import FacePhoto
from students.export import student_export_zip
from students.models import Course, Student
from tests.factories import make_course, make_student
from tests.helpers import photo_jpeg

pytestmark = pytest.mark.django_db


@pytest.fixture
def portraits(faces_dataset):
    """Three different real portraits' bytes."""
    folder = faces_dataset / "identities" / "Tony_Blair"
    return [path.read_bytes() for path in sorted(folder.iterdir())[:3]]


def student_folder(root, name, *photos):
    folder = root / name
    folder.mkdir(parents=True)
    for n, content in enumerate(photos):
        (folder / f"photo{n}.jpg").write_bytes(content)
    return folder


def import_students(root, **options):
    call_command("import_students", str(root), consent="signed forms", **options)


def test_a_link_to_another_students_stored_photo_is_skipped_and_reported(tmp_path, portraits, capsys):
    ada = make_student("S1", "Ada Lovelace")
    photo, _ = add_enrolment_photo(ada, portraits[0], source=FacePhoto.ADMIN)
    evil = student_folder(tmp_path / "import", "Evil_Student", portraits[1])
    (evil / "ada.jpg").symlink_to(photo.image.path)

    import_students(tmp_path / "import")

    evil_student = Student.objects.get(full_name="Evil Student")
    export = zipfile.ZipFile(io.BytesIO(student_export_zip(evil_student)))
    exported_photos = [export.read(name) for name in export.namelist() if name.startswith("enrolment_photos/")]
    assert exported_photos == [portraits[1]]
    assert f"Skipped {evil / 'ada.jpg'}: a symbolic link" in capsys.readouterr().err


def test_a_linked_student_folder_is_not_imported_even_from_outside_the_import_folder(tmp_path, portraits, capsys):
    outside = student_folder(tmp_path / "elsewhere", "Outsider", portraits[0])
    (tmp_path / "import").mkdir()
    (tmp_path / "import" / "Outsider").symlink_to(outside, target_is_directory=True)

    import_students(tmp_path / "import")

    assert not Student.objects.exists() and not FacePhoto.objects.exists()
    assert f"Skipped {tmp_path / 'import' / 'Outsider'}: a symbolic link" in capsys.readouterr().err


def test_a_copy_of_a_photo_enrolled_for_another_student_is_not_enrolled_again(tmp_path, portraits, capsys):
    ada = make_student("S1", "Ada Lovelace")
    add_enrolment_photo(ada, portraits[0], source=FacePhoto.ADMIN)
    evil = student_folder(tmp_path / "import", "Evil_Student", portraits[0], portraits[1])

    import_students(tmp_path / "import")

    evil_student = Student.objects.get(full_name="Evil Student")
    assert evil_student.face_photos.count() == 1 and ada.face_photos.count() == 1
    assert f"Skipped {evil / 'photo0.jpg'}: the same photo is enrolled for another student" in capsys.readouterr().err


def test_a_folder_named_like_a_student_of_another_course_is_a_clash_and_skipped(tmp_path, portraits, capsys):
    ada = make_student("S1", "Ada Lovelace")
    make_course("ART1", students=[ada])
    add_enrolment_photo(ada, portraits[0], source=FacePhoto.ADMIN)
    folder = student_folder(tmp_path / "import", "Ada_Lovelace", portraits[1])

    import_students(tmp_path / "import", course="MATH1")

    assert ada.face_photos.count() == 1
    assert Student.objects.count() == 1
    assert list(ada.courses.values_list("code", flat=True)) == ["ART1"]
    out, err = capsys.readouterr()
    assert f"Skipped {folder}: a student named Ada Lovelace already exists (S1)" in err
    assert "0 new student(s) and 0 new photo(s)" in out and "1 folder(s) skipped" in out


def test_a_folder_with_no_photo_named_like_an_existing_student_is_a_clash(tmp_path, capsys):
    ada = make_student("S1", "Ada Lovelace")
    (tmp_path / "import" / "Ada_Lovelace").mkdir(parents=True)

    import_students(tmp_path / "import", course="MATH1")

    assert not ada.courses.exists()
    assert "a student named Ada Lovelace already exists (S1)" in capsys.readouterr().err


def test_a_student_number_in_the_folder_name_attaches_the_photos_to_that_student(tmp_path, portraits):
    ada = make_student("S00042", "Ada Lovelace")
    namesake = make_student("S00043", "Ada Lovelace")
    student_folder(tmp_path / "import", "S00042_Ada_Lovelace", portraits[0])

    import_students(tmp_path / "import", course="MATH1")
    import_students(tmp_path / "import", course="MATH1")

    assert Student.objects.count() == 2
    assert ada.face_photos.count() == 1 and namesake.face_photos.count() == 0
    assert list(ada.courses.values_list("code", flat=True)) == ["MATH1"]


def test_a_new_student_number_in_the_folder_name_creates_the_student_with_it(tmp_path, portraits):
    make_student("S1", "Ada Lovelace")
    student_folder(tmp_path / "import", "S00042_Ada_Lovelace", portraits[0])

    import_students(tmp_path / "import")

    assert Student.objects.get(student_number="S00042").full_name == "Ada Lovelace"


def test_a_folder_with_one_students_number_and_another_students_name_is_a_clash(tmp_path, portraits, capsys):
    grace = make_student("S00042", "Grace Hopper")
    folder = student_folder(tmp_path / "import", "S00042_Ada_Lovelace", portraits[0])

    import_students(tmp_path / "import")

    assert Student.objects.count() == 1 and not grace.face_photos.exists()
    assert f"Skipped {folder}: student S00042 is Grace Hopper, not Ada Lovelace" in capsys.readouterr().err


def test_a_roster_gives_each_folder_its_student_number(tmp_path, portraits):
    ada = make_student("S1", "Ada Lovelace")
    namesake = make_student("S9", "Ada Lovelace")
    student_folder(tmp_path / "import", "Ada_Lovelace", portraits[0])
    student_folder(tmp_path / "import", "newcomer", portraits[1])
    roster = tmp_path / "roster.csv"
    roster.write_text("folder,student_number,full_name\nAda_Lovelace,S1,\nnewcomer,S77,Grace Hopper\n")

    import_students(tmp_path / "import", roster=str(roster))

    assert ada.face_photos.count() == 1 and namesake.face_photos.count() == 0
    grace = Student.objects.get(student_number="S77")
    assert grace.full_name == "Grace Hopper" and grace.face_photos.count() == 1


def test_a_roster_without_its_columns_is_refused(tmp_path):
    from django.core.management.base import CommandError

    (tmp_path / "import").mkdir()
    roster = tmp_path / "roster.csv"
    roster.write_text("name,number\nAda_Lovelace,S1\n")
    with pytest.raises(CommandError, match="folder,student_number"):
        import_students(tmp_path / "import", roster=str(roster))


def test_a_roster_with_only_its_header_imports_by_folder_name(tmp_path, portraits):
    student_folder(tmp_path / "import", "Ada_Lovelace", portraits[0])
    roster = tmp_path / "roster.csv"
    roster.write_text("folder,student_number\n")

    import_students(tmp_path / "import", roster=str(roster))

    assert Student.objects.get().full_name == "Ada Lovelace"


def test_a_folder_number_too_long_for_a_student_number_is_a_clash(tmp_path, portraits, capsys):
    student_folder(tmp_path / "import", "S" + "1" * 40 + "_Ada_Lovelace", portraits[0])

    import_students(tmp_path / "import")

    assert not Student.objects.exists()
    assert "longer than a student number can be (32 characters)" in capsys.readouterr().err


def test_running_an_import_again_is_recognised_by_its_photos_and_adds_nothing(tmp_path, portraits, capsys):
    folder = student_folder(tmp_path / "import", "Ada_Lovelace", portraits[0], portraits[1])
    (folder / "notes.jpg").write_text("not a photo")
    import_students(tmp_path / "import", course="MATH1")
    capsys.readouterr()

    import_students(tmp_path / "import", course="MATH1")

    out, err = capsys.readouterr()
    assert "0 new student(s) and 0 new photo(s)" in out and "0 folder(s) skipped" in out
    assert "already exists" not in err
    assert Student.objects.get().face_photos.count() == 2


def test_a_new_photo_in_a_folder_named_like_an_existing_student_is_a_clash(tmp_path, portraits, capsys):
    folder = student_folder(tmp_path / "import", "Ada_Lovelace", portraits[0])
    import_students(tmp_path / "import")
    (folder / "photo9.jpg").write_bytes(portraits[2])

    import_students(tmp_path / "import")

    assert Student.objects.get().face_photos.count() == 1
    assert "a student named Ada Lovelace already exists" in capsys.readouterr().err


def test_the_shared_dataset_imports_with_consent_as_30_students_and_189_photos(faces_dataset):
    call_command("import_students", str(faces_dataset / "identities"), course="FACES", consent="signed forms")
    assert Student.objects.count() == 30 and FacePhoto.objects.count() == 189
    assert not Student.objects.filter(consent_recorded_at__isnull=True).exists()


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


def photo_folder(tmp_path):
    folder = tmp_path / "import" / "S00042_Ada_Lovelace"
    folder.mkdir(parents=True)
    (folder / "a.jpg").write_bytes(photo_jpeg())
    return folder.parent


def test_import_names_the_course_it_creates_from_course_name(tmp_path, capsys):
    call_command("import_students", str(photo_folder(tmp_path)), course="MATH1", course_name="Mathematics, year 1")
    assert str(Course.objects.get(code="MATH1")) == "MATH1 Mathematics, year 1"
    assert "Created course MATH1 (Mathematics, year 1)." in capsys.readouterr().out


def test_import_without_course_name_leaves_the_name_blank_for_the_admin(tmp_path, capsys):
    call_command("import_students", str(photo_folder(tmp_path)), course="MATH1")
    course = Course.objects.get(code="MATH1")
    assert (course.name, str(course)) == ("", "MATH1")
    assert "give it a name in the admin" in capsys.readouterr().out


def test_import_refuses_a_blank_consent(tmp_path):
    with pytest.raises(CommandError, match="--consent needs who gave it"):
        call_command("import_students", str(photo_folder(tmp_path)), consent=" ")


def test_member_from_and_until_date_each_students_place_in_the_course(tmp_path):
    folder = photo_folder(tmp_path)
    call_command("import_students", str(folder), "--course", "MATH1", "--member-from", "2026-09-01")
    ada = Student.objects.get(student_number="S00042")
    place = ada.memberships.get(course__code="MATH1")
    assert (place.starts_on, place.ends_on) == (date(2026, 9, 1), None)

    # Run again with an end: the same place, its start kept.
    call_command("import_students", str(folder), "--course", "MATH1", "--member-until", "2027-07-15")
    place.refresh_from_db()
    assert (place.starts_on, place.ends_on) == (date(2026, 9, 1), date(2027, 7, 15))
    assert ada.memberships.count() == 1


def test_without_dates_a_new_place_counts_from_the_courses_start(tmp_path):
    call_command("import_students", str(photo_folder(tmp_path)), "--course", "MATH1")
    place = Student.objects.get(student_number="S00042").memberships.get()
    assert (place.starts_on, place.ends_on) == (None, None)


def test_member_dates_need_a_course_and_an_end_after_the_start(tmp_path):
    folder = photo_folder(tmp_path)
    with pytest.raises(CommandError, match="date the place in the course given with --course"):
        call_command("import_students", str(folder), "--member-from", "2026-09-01")
    with pytest.raises(CommandError, match="--member-until is before --member-from"):
        call_command(
            "import_students",
            str(folder),
            "--course",
            "M",
            "--member-from",
            "2026-09-01",
            "--member-until",
            "2026-08-01",
        )
    with pytest.raises(CommandError, match="is not a date"):
        call_command("import_students", str(folder), "--course", "M", "--member-from", "1 Sept")
