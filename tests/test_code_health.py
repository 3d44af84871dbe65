"""What keeps the project honest about itself: the face engine stands without Django, a test
that cannot run here fails in CI instead of skipping unseen, and importing the settings touches
no disk. Each runs a fresh Python process, so nothing this pytest loaded counts."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

ENGINE_WITHOUT_DJANGO = """
import importlib, pkgutil, sys
import numpy as np
import recognition.engine
for module in pkgutil.iter_modules(recognition.engine.__path__):
    importlib.import_module("recognition.engine." + module.name)
from recognition.engine.detect import FaceDetector
from recognition.engine.images import load_image
faces = FaceDetector().detect(np.asarray(load_image(sys.argv[1])))
site = ("django", "celery", "rest_framework")
print(len(faces), sorted(name for name in sys.modules if name.partition(".")[0] in site))
"""


def run_python(code, *args, **environment):
    """Run code in a fresh Python with these environment variables changed (None: unset)."""
    env = dict(os.environ)
    for name, value in environment.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_the_face_engine_imports_and_detects_a_face_without_django(faces_dataset):
    portrait = faces_dataset / "identities" / "George_W_Bush" / "George_W_Bush_0001.jpg"
    result = run_python(ENGINE_WITHOUT_DJANGO, str(portrait), DJANGO_SETTINGS_MODULE=None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(maxsplit=1) == ["1", "[]\n"]


# Asks for the dataset before anything else, so the run stops there.
NEEDS_THE_DATASET = "tests/engine/test_detect.py::test_tight_portrait_cut_by_the_frame_is_found_with_the_border_retry"


def run_pytest_without_the_dataset(tmp_path, require):
    code = "import sys, pytest; sys.exit(pytest.main(sys.argv[1:]))"
    return run_python(
        code,
        "-p",
        "no:cacheprovider",
        "-q",
        NEEDS_THE_DATASET,
        FACES_DATASET=str(tmp_path),
        ROLLCALL_REQUIRE_TEST_DATA=require,
    )


def test_without_the_dataset_a_test_skips_with_its_reason_on_a_developers_machine(tmp_path):
    result = run_pytest_without_the_dataset(tmp_path, require="")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 skipped" in result.stdout and f"The real face dataset is not at {tmp_path}" in result.stdout


def test_without_the_dataset_a_test_fails_where_ci_requires_the_test_data(tmp_path):
    result = run_pytest_without_the_dataset(tmp_path, require="1")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 error" in result.stdout and "skipped" not in result.stdout
    assert f"The real face dataset is not at {tmp_path}" in result.stdout
    assert "ROLLCALL_REQUIRE_TEST_DATA is set" in result.stdout


FRESH_SITE = """
import json, os, sys
from pathlib import Path
import django
django.setup()
var = Path(os.environ["ROLLCALL_VAR_DIR"])
def listing():
    return sorted(str(path.relative_to(var)) for path in var.rglob("*")) if var.exists() else None
at_setup = listing()
from attendance_site.celery import app
app.send_task("recognition.tasks.process_capture", args=(0,))
after_send = listing()
from django.db import connection
connection.ensure_connection()
print(json.dumps({"at_setup": at_setup, "after_send": after_send, "after_connect": listing()}))
"""


def test_importing_the_settings_makes_no_folder_and_the_site_makes_each_where_it_is_needed(tmp_path):
    var = tmp_path / "var"
    result = run_python(
        FRESH_SITE,
        ROLLCALL_VAR_DIR=str(var),
        DJANGO_SETTINGS_MODULE="attendance_site.settings",
        DATABASE_URL=None,
        CELERY_BROKER_URL=None,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["at_setup"] is None
    # A web process that only sends a task makes the broker's folders, and the message lands.
    [message] = [name for name in seen["after_send"] if name.startswith("broker/queue/")]
    assert message.endswith(".msg") and "broker/control" in seen["after_send"]
    assert "static" not in seen["after_send"]
    # SQLite makes its file but not the folder: the site makes it as it first connects.
    assert set(seen["after_connect"]) - set(seen["after_send"]) == {"db.sqlite3"}


def test_the_sheets_sync_pacing_comes_from_the_environment():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print([s.SHEETS_SYNC_DELAY_SECONDS, s.SHEETS_HTTP_TIMEOUT_SECONDS, s.SHEETS_RETRY_BASE_SECONDS, "
        "s.SHEETS_RETRY_MAX_SECONDS, s.SHEETS_SYNC_MAX_RETRIES, s.SHEETS_RECONCILE_SECONDS, "
        "s.CELERY_BEAT_SCHEDULE['reconcile-google-sheets']['schedule']])"
    )
    environment = dict(
        DJANGO_SETTINGS_MODULE="attendance_site.settings",
        SHEETS_SYNC_DELAY_SECONDS="7",
        SHEETS_HTTP_TIMEOUT_SECONDS="11",
        SHEETS_RETRY_BASE_SECONDS="3",
        SHEETS_RETRY_MAX_SECONDS="60",
        SHEETS_SYNC_MAX_RETRIES="4",
        SHEETS_RECONCILE_SECONDS="900",
    )
    result = run_python(code, **environment)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[7.0, 11.0, 3.0, 60.0, 4, 900.0, 900.0]"
    unset = {name: None for name in environment if name.startswith("SHEETS_")}
    result = run_python(code, DJANGO_SETTINGS_MODULE="attendance_site.settings", **unset)
    assert result.stdout.strip() == "[5.0, 30.0, 2.0, 240.0, None, 3600.0, 3600.0]", result.stderr
