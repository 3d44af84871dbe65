"""What keeps the project honest about itself: the face engine stands without Django, and a
test that cannot run here fails in CI instead of skipping unseen. Each runs a fresh Python
process, so nothing this pytest loaded counts."""
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
print(len(faces), sorted(name for name in sys.modules if name.partition(".")[0] in ("django", "celery", "rest_framework")))
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
        code, "-p", "no:cacheprovider", "-q", NEEDS_THE_DATASET,
        FACES_DATASET=str(tmp_path), ROLLCALL_REQUIRE_TEST_DATA=require,
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

