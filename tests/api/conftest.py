from tests.web.school import school  # noqa: F401 - fixture
