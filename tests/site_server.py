"""The site as production runs it, for the tests that need a real server process: gunicorn on a
free port of 127.0.0.1, with the environment the test gives it."""

import subprocess
from contextlib import contextmanager

import requests

from tests.conftest import REPO_ROOT
from tests.helpers import wait_for
from tests.processes import free_port, stop

# Long enough for a real one, and never a development key (DEBUG=0 refuses those).
PRODUCTION_SECRET_KEY = "test-only-" + "k" * 60
# Production seals face data (DEBUG=0 refuses to start without a key): 32 bytes, URL-safe base64.
PRODUCTION_FACE_DATA_KEY = "dGVzdC1vbmx5LWZhY2UtZGF0YS1rZXktMzItYnl0ZSE="


def production_environment(base, var_dir, **overrides):
    """`base` (os.environ, or a clean one) with the production settings of README's Production."""
    return {
        **base,
        "DJANGO_SETTINGS_MODULE": "attendance_site.settings",
        "DEBUG": "0",
        "SECRET_KEY": PRODUCTION_SECRET_KEY,
        "FACE_DATA_KEY": PRODUCTION_FACE_DATA_KEY,
        "ALLOWED_HOSTS": "attendance.school.example",
        "ROLLCALL_VAR_DIR": str(var_dir),
        "MEDIA_ROOT": str(var_dir / "media"),
        "LOG_LEVEL": "WARNING",
        **overrides,
    }


@contextmanager
def gunicorn_site(python, env, log_path):
    """Yields the server's base URL once it answers; stopped on the way out whatever happened."""
    port = free_port()
    command = [
        str(python),
        "-m",
        "gunicorn",
        "attendance_site.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--worker-class",
        "gthread",
        "--workers",
        "1",
        "--threads",
        "4",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"

    def answers():
        if process.poll() is not None:
            return True  # it exited: stop waiting, and say so below
        try:
            requests.get(base_url + "/healthz", timeout=5)
            return True
        except requests.ConnectionError:
            return False

    try:
        assert wait_for(answers, timeout=60, interval=0.1) and process.poll() is None, (
            "gunicorn did not start: " + log_path.read_text(errors="replace")[-3000:]
        )
        yield base_url
    finally:
        stop(process, timeout=20)
