import pytest


@pytest.fixture(scope="session")
def engine():
    from recognition.processing import face_engine

    return face_engine()
