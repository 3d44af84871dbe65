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
    assert list((var_dir / "broker" / "queue").iterdir()), "no task message was sent to the worker"
