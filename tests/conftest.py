import os
from pathlib import Path

import pytest

from tests.helpers import skip_or_fail

# The small school of tests/web/school.py serves the web, API and bad-input tests.
pytest_plugins = ["tests.web.school"]

REPO_ROOT = Path(__file__).resolve().parent.parent
FACES_DATASET = Path(os.environ.get("FACES_DATASET", REPO_ROOT.parent / "shared" / "datasets" / "faces"))


@pytest.fixture(scope="session")
def faces_dataset():
    if not (FACES_DATASET / "identities").is_dir():
        skip_or_fail(
            f"The real face dataset is not at {FACES_DATASET}; set FACES_DATASET to the folder "
            "that holds identities/ and group/ (CI always has it)."
        )
    return FACES_DATASET


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The real hasher takes ~0.5 s per user on a busy 2-core machine; tests log users in
    # directly or with known passwords, so hashing strength does not matter here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    # Rate-limit counters live in the cache: one test's requests must not count against the next.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def the_schools_language():
    # LocaleMiddleware activates the language a request asks for and leaves it active in the
    # thread after the response: a test that asked in Vietnamese must not make the next one's
    # words and dates Vietnamese.
    from django.utils import translation

    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def private_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(scope="session", autouse=True)
def static_root():
    # Tests run with DEBUG off, where WhiteNoise reads STATIC_ROOT as each test client starts and
    # warns when it is missing; on a server, collectstatic makes it.
    from django.conf import settings

    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


@pytest.fixture
def smtp(settings):
    """A real SMTP server on 127.0.0.1 (tests/smtp_server.py) that Django's e-mail goes to."""
    from tests.smtp_server import LocalSMTPServer

    server = LocalSMTPServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = False, "", ""
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "Roll Call <attendance@school.example>"
    yield server
    server.stop()


@pytest.fixture
def eager_celery(monkeypatch):
    """Tasks run in-process as they are sent (a capture's recognition right after the request's
    commit, as a worker would a moment later); a task's retries run at once, one after the other,
    through Celery's own retry path (countdowns are not waited for in eager mode)."""
    from attendance_site.celery import app as celery_app

    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", False)
