"""Names are one line of text that fits its column, whatever route writes them: the admin's
forms and "Add a teacher" refuse a line break or an over-long name with a message (no 500 on
PostgreSQL, which refuses an over-long value where SQLite stores it), and whatever writes a
name without a form has its control characters replaced by spaces as the row is saved."""

import pytest
from django.contrib.auth.models import User
from django.core import mail

from students.models import Course, Student
from tests.factories import make_user

pytestmark = pytest.mark.django_db

NEWLINE_NAME = "Ada\nLovelace"
ADD_TEACHER = "/admin/students/course/add-teacher/"


def add_student(client, **fields):
    data = {"student_number": "S77", "full_name": "Ada Lovelace", "email": "", "user": "", "is_active": "on"}
    data.update({"consent_given_by": "", "face_photos-TOTAL_FORMS": "0", "face_photos-INITIAL_FORMS": "0"})
    return client.post("/admin/students/student/add/", {**data, **fields})


@pytest.mark.parametrize(
    "field, value", [("full_name", NEWLINE_NAME), ("full_name", "Ada\tLovelace"), ("consent_given_by", "\x1b[31mAda")]
)
def test_the_student_admin_refuses_a_name_that_is_not_one_line(client, school, field, value):
    client.force_login(school.admin)
    response = add_student(client, **{field: value})
    assert response.status_code == 200
    assert "Write it on one line" in response.content.decode()
    assert not Student.objects.filter(student_number="S77").exists()


def test_the_course_admin_refuses_a_course_name_that_is_not_one_line(client, school):
    client.force_login(school.admin)
    response = client.post(
        "/admin/students/course/add/",
        {
            "code": "CHEM1",
            "name": "Chemistry\nyear 1",
            "sessions-TOTAL_FORMS": "0",
            "sessions-INITIAL_FORMS": "0",
            "sheet_sync-TOTAL_FORMS": "0",
            "sheet_sync-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200 and "Write it on one line" in response.content.decode()
    assert not Course.objects.filter(code="CHEM1").exists()


def test_a_name_written_without_a_form_is_saved_on_one_line(school):
    student = Student.objects.create(student_number="S78", full_name="Ada\n\x00Lovelace\u2028")
    teacher = make_user("penny", first_name="Penny\r\nX-Injected: yes", last_name="Hofstadter")
    student.refresh_from_db()
    teacher.refresh_from_db()
    assert student.full_name == "Ada Lovelace"
    assert teacher.first_name == "Penny X-Injected: yes"


def test_add_a_teacher_refuses_a_line_break_in_the_name(client, school):
    client.force_login(school.admin)
    response = client.post(ADD_TEACHER, {"full_name": "Amy\nFarrah Fowler", "email": "amy@school.example"})
    assert response.status_code == 200 and "Write it on one line" in response.content.decode()
    assert not User.objects.filter(email="amy@school.example").exists() and mail.outbox == []


@pytest.mark.parametrize(
    "full_name, email, says",
    [
        ("Amy " + "F" * 251, "amy@school.example", "The family name (the last word) can have at most 150 characters"),
        ("B" * 160 + " Fowler", "amy@school.example", "The given names can have at most 150 characters; this has 160."),
        ("Amy Fowler", "a" * 140 + "@school.example", "Ensure this value has at most 150 characters"),
    ],
    ids=["family-name", "given-names", "e-mail-is-the-login-name"],
)
def test_add_a_teacher_refuses_an_over_long_name_with_a_form_error(client, school, full_name, email, says):
    client.force_login(school.admin)
    response = client.post(ADD_TEACHER, {"full_name": full_name, "email": email})
    assert response.status_code == 200
    assert says in response.content.decode()
    assert User.objects.filter(groups__name="Teacher").count() == 2 and mail.outbox == []
