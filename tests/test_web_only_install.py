"""A web server installs requirements-web.txt alone, without the face stack: a fresh venv with
only that file migrates, passes the deployment checks, and serves the login page, /healthz and
an upload that queues a capture, under gunicorn in production settings, with torch not there."""

import os
import shutil
import subprocess
import sys
import time

import pytest
import requests

from recognition.sealing import MAGIC
from tests.conftest import REPO_ROOT
from tests.helpers import photo_jpeg
from tests.s3_server import s3_server  # noqa: F401  fixture
from tests.site_server import gunicorn_site, production_environment

pytestmark = pytest.mark.slow

SITE_HOST = "attendance.school.example"
# As the HTTPS load balancer forwards a request (SECURE_PROXY_SSL_HEADER).
THROUGH_THE_BALANCER = {"Host": SITE_HOST, "X-Forwarded-Proto": "https"}
FACE_STACK = ("torch", "torchvision", "facenet_pytorch", "dlib", "cv2", "face_recognition_models")

MAKE_A_SESSION_AND_A_CAMERA = """
from datetime import timedelta
from django.utils import timezone
from access.devices import issue_token
from access.models import DeviceToken
from students.models import ClassSession, Course
course = Course.objects.create(code="WEB1", name="Web only")
starts_at = timezone.now() - timedelta(minutes=5)
session = ClassSession.objects.create(course=course, starts_at=starts_at, ends_at=starts_at + timedelta(hours=1))
device = DeviceToken(name="Room camera", course=course)
token = issue_token(device)
device.save()
print(session.pk, token)
"""


def run(command, env, **kwargs):
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def web_only_venv(tmp_path_factory):
    python = shutil.which("python3.11") or sys.executable
    venv = tmp_path_factory.mktemp("web-only") / "venv"
    started = time.monotonic()
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "-r", "requirements-web.txt"], os.environ)
    # Shown with -s / in the CI log: what a web machine's install costs.
    print(f"\nrequirements-web.txt installed into a fresh venv in {time.monotonic() - started:.0f} s")
    return venv / "bin" / "python"


def test_the_web_requirements_alone_serve_the_site_and_queue_an_upload(web_only_venv, s3_server, tmp_path):  # noqa: F811
    for module in FACE_STACK:
        found = subprocess.run([str(web_only_venv), "-c", f"import {module}"], capture_output=True)
        assert found.returncode != 0, f"{module} is importable from the web requirements"

    bucket = s3_server.new_bucket()
    var_dir = tmp_path / "var"
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(tmp_path))}
    env = production_environment(
        clean, var_dir, DATABASE_URL=f"sqlite:///{tmp_path / 'site.sqlite3'}", **s3_server.environment(bucket)
    )
    manage = [str(web_only_venv), "manage.py"]
    run(manage + ["migrate", "--noinput"], env)
    assert "no issues" in run(manage + ["check", "--deploy", "--fail-level", "WARNING"], env)
    session_id, token = run(manage + ["shell", "-c", MAKE_A_SESSION_AND_A_CAMERA], env).splitlines()[-1].split()

    with gunicorn_site(web_only_venv, env, tmp_path / "site.log") as base_url:
        health = requests.get(base_url + "/healthz", timeout=10)
        login = requests.get(base_url + "/login/", headers=THROUGH_THE_BALANCER, timeout=10)
        upload = requests.post(
            f"{base_url}/api/sessions/{session_id}/captures/",
            headers={**THROUGH_THE_BALANCER, "Authorization": f"Token {token}"},
            files={"image": ("class.jpg", photo_jpeg(), "image/jpeg")},
            timeout=30,
        )

    assert health.status_code == 200, health.text
    assert health.json()["checks"] == {"database": "ok", "broker": "ok", "storage": "ok"}
    assert login.status_code == 200 and 'name="password"' in login.text
    assert upload.status_code == 202, upload.text
    assert upload.json()["status"] == "queued"
    assert [key.split("/")[0] for key in s3_server.keys(bucket)] == ["captures"]
    stored = s3_server.client.get_object(Bucket=bucket, Key=s3_server.keys(bucket)[0])["Body"].read()
    assert stored.startswith(MAGIC)  # sealed by the web server with production's FACE_DATA_KEY
    assert list((var_dir / "broker" / "queue").iterdir()), "no task message was sent to the worker"


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
