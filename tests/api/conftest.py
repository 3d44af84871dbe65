from tests.web.school import fast_password_hashing, fresh_rate_limits, school  # noqa: F401 - fixtures
