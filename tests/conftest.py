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
def private_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
