import os
import subprocess
import sys

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from students.models import AttendanceRecord, ClassSession

from .conftest import REPO_ROOT
from .factories import make_course, make_session, make_student, make_user

pytestmark = pytest.mark.django_db


def test_one_attendance_record_per_student_per_session_is_enforced_by_the_database():
    student = make_student("S1")
    session = make_session(make_course(students=[student]))
    AttendanceRecord.objects.create(session=session, student=student, status="present", source="photo")
    with pytest.raises(IntegrityError), transaction.atomic():
        AttendanceRecord.objects.create(session=session, student=student, status="absent", source="manual")
    assert AttendanceRecord.objects.filter(session=session, student=student).count() == 1


def test_a_session_cannot_end_before_it_starts():
    session = make_session(make_course())
    session.ends_at = session.starts_at
    with pytest.raises(ValidationError, match="must end after it starts"):
        session.save()
    # The database holds the rule too, for a write that does not go through save().
    with pytest.raises(IntegrityError), transaction.atomic():
        ClassSession.objects.filter(pk=session.pk).update(ends_at=session.starts_at)


def test_role_groups_are_created_by_migration():
    assert set(Group.objects.values_list("name", flat=True)) >= {"Admin", "Teacher", "Student"}


ADMIN_PAGES = [
    "admin:students_student_changelist",
    "admin:students_student_add",
    "admin:students_course_changelist",
    "admin:students_course_add",
    "admin:students_classsession_changelist",
    "admin:students_attendancerecord_changelist",
    "admin:recognition_facephoto_changelist",
    "admin:recognition_capture_changelist",
]


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_admin_pages_render_for_staff(client, page):
    client.force_login(make_user("boss", role="Admin", is_staff=True, is_superuser=True))
    student = make_student("S1")
    make_session(make_course(students=[student]))
    response = client.get(reverse(page))
    assert response.status_code == 200


@pytest.mark.parametrize("role", ["Teacher", "Student"])
def test_admin_is_refused_to_teachers_and_students(client, role):
    client.force_login(make_user("someone", role=role))
    response = client.get(reverse("admin:students_student_changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


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
    lines = response.content.decode().strip().splitlines()
    assert lines[0].startswith("course,session start,student number")
    assert lines[1].startswith("CS1,") and ",S7,Ada Lovelace,late," in lines[1]


def test_production_refuses_the_development_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env["DEBUG"] = "0"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_the_production_settings_pass_djangos_deployment_checks():
    env = dict(os.environ, DEBUG="0", SECRET_KEY="x" * 20 + "-production-secret-key-for-the-check-only-" + "y" * 20)
    env["ALLOWED_HOSTS"] = "attendance.school.example"
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


WEB_REQUESTS = """
import sys, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
import attendance_site.urls, recognition.captures, recognition.tasks
from django.urls import get_resolver
get_resolver().url_patterns
from django.test import Client
from django.core.files.uploadedfile import SimpleUploadedFile
from students.consent import record_consent
from students.models import Student
from tests.factories import make_student, make_user
from tests.helpers import photo_jpeg

client = Client()
client.force_login(make_user("boss", is_staff=True, is_superuser=True))
student = make_student("S1", "Ada")
record_consent(Student.objects.filter(pk=student.pk), None, "Ada")
answers = [client.get(f"/students/{student.pk}/enrol/").status_code]
shot = SimpleUploadedFile("shot.jpg", photo_jpeg(), "image/jpeg")
sent = client.post(f"/students/{student.pk}/enrol/check/", {"image": shot})
answers.append(sent.status_code)
if sent.status_code == 202:
    answers.append(client.get(sent.json()["status_url"]).json()["status"])
print("torch" in sys.modules, answers)
"""


def test_the_web_process_does_not_load_the_face_models(tmp_path):
    """Web servers only queue captures and enrolment shots: importing torch there cost 5-8 s on
    a first upload and hundreds of MB per process (seen in bench/load.py). The subprocess
    serves the enrolment-by-camera pages (page, shot, its status) from a database of its own;
    the shot's task goes to an in-memory broker that no worker reads."""
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="attendance_site.settings",
        DATABASE_URL=f"sqlite:///{tmp_path}/web.sqlite3",
        MEDIA_ROOT=str(tmp_path / "media"),
        CELERY_BROKER_URL="memory://",
        CELERY_TASK_ALWAYS_EAGER="0",
        ALLOWED_HOSTS="testserver",
    )
    result = subprocess.run(
        [sys.executable, "-c", WEB_REQUESTS], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    assert result.stdout.strip() == "False [200, 202, 'pending']", result.stdout + result.stderr
