"""Settings come from the environment and are read strictly: a yes-or-no or number setting
that says something else stops the site at start-up with ImproperlyConfigured naming the
variable, instead of being read as "no" or crashing somewhere later; production (DEBUG off)
refuses the development key and passes Django's deployment checks. Each case imports the
settings in a fresh Python."""

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT
from tests.site_server import PRODUCTION_FACE_DATA_KEY
from tests.test_code_health import run_python

SETTINGS = "import django; django.setup(); from django.conf import settings as s; print({})"


def settings_with(expression, **environment):
    return run_python(SETTINGS.format(expression), DJANGO_SETTINGS_MODULE="attendance_site.settings", **environment)


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("DEBUG", "flase", "DEBUG='flase' is not yes or no"),
        ("EMAIL_USE_TLS", "", "EMAIL_USE_TLS='' is not yes or no"),
        ("SECURE_SSL_REDIRECT", "nope", "SECURE_SSL_REDIRECT='nope' is not yes or no"),
        ("LOGIN_RATE_LIMIT", "ten", "LOGIN_RATE_LIMIT='ten' is not a whole number"),
        ("UPLOAD_MAX_BYTES", "20MB", "UPLOAD_MAX_BYTES='20MB' is not a whole number"),
        ("ATTENDANCE_THRESHOLD_PERCENT", "80%", "ATTENDANCE_THRESHOLD_PERCENT='80%' is not a number"),
        ("FACE_MATCH_THRESHOLD", "0,4", "FACE_MATCH_THRESHOLD='0,4' is not a number"),
        ("TRUSTED_PROXY_HOPS", "-1", "TRUSTED_PROXY_HOPS='-1' is below 0"),
        ("NOTICE_DIGEST_WEEKDAY", "mnday", "NOTICE_DIGEST_WEEKDAY='mnday'"),
        ("ABSENCE_STREAK", "0", "ABSENCE_STREAK='0' is below 1"),
        ("CHRONIC_ABSENCE_BELOW", "90%", "CHRONIC_ABSENCE_BELOW='90%' is not a number"),
    ],
)
def test_a_setting_that_does_not_parse_stops_the_start_naming_the_variable(variable, value, said):
    # SECURE_SSL_REDIRECT is read with DEBUG off only, which needs a production key.
    production = {"DEBUG": "0", "SECRET_KEY": "k" * 60, "FACE_DATA_KEY": PRODUCTION_FACE_DATA_KEY}
    production = production if variable == "SECURE_SSL_REDIRECT" else {}
    result = settings_with("s.DEBUG", **production, **{variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and said in result.stderr, result.stderr[-2000:]


def test_the_words_for_yes_and_no_and_numbers_with_spaces_are_read():
    result = settings_with(
        "[s.DEBUG, s.EMAIL_USE_TLS, s.LOGIN_RATE_LIMIT, s.FACE_MATCH_THRESHOLD, s.SHEETS_SYNC_MAX_RETRIES]",
        DEBUG=" Yes ",
        EMAIL_USE_TLS="off",
        LOGIN_RATE_LIMIT=" 12 ",
        FACE_MATCH_THRESHOLD="0.4",
        SHEETS_SYNC_MAX_RETRIES="",
    )
    assert result.stdout.strip() == "[True, False, 12, 0.4, None]", result.stderr[-2000:]


def test_every_periodic_task_comes_from_one_schedule():
    result = settings_with("sorted((name, entry['task']) for name, entry in s.CELERY_BEAT_SCHEDULE.items())")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == str(
        [
            ("delete-expired-captures", "recognition.tasks.delete_expired_captures"),
            ("forget-unclaimed-faces", "recognition.tasks.forget_unclaimed_faces"),
            ("reconcile-google-sheets", "students.tasks.reconcile_sheets"),
            ("send-notices", "students.tasks.send_notices"),
            ("weekly-attendance-digest", "students.tasks.send_weekly_digests"),
        ]
    )


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
    env["FACE_DATA_KEY"] = PRODUCTION_FACE_DATA_KEY
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


def test_production_refuses_to_start_without_a_face_data_key():
    env = {k: v for k, v in os.environ.items() if k != "FACE_DATA_KEY"}
    env.update(DEBUG="0", SECRET_KEY="k" * 60)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "FACE_DATA_KEY is not set" in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("not base64!", "key 1 is not URL-safe base64"),
        (f"{PRODUCTION_FACE_DATA_KEY},c2hvcnQ=", "key 2 is 5 bytes, not 32"),
        (f"{PRODUCTION_FACE_DATA_KEY}, {PRODUCTION_FACE_DATA_KEY}", "the same key is given twice"),
    ],
)
def test_a_face_data_key_that_is_not_one_stops_the_start_without_showing_it(value, said):
    result = settings_with("s.DEBUG", FACE_DATA_KEY=value)
    assert result.returncode != 0
    assert "FACE_DATA_KEY is not a list of keys" in result.stderr and said in result.stderr, result.stderr[-2000:]
    assert PRODUCTION_FACE_DATA_KEY not in result.stderr
