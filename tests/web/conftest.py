from tests.web.school import eager_recognition, school  # noqa: F401 - fixtures
