import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
FACES_DATASET = Path(os.environ.get("FACES_DATASET", REPO_ROOT.parent / "shared" / "datasets" / "faces"))


@pytest.fixture(scope="session")
def faces_dataset():
    if not (FACES_DATASET / "identities").is_dir():
        pytest.skip(
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
def private_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
