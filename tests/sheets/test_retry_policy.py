import pytest

from students.sheets import SyncFailure, retry_countdown

PASSING = SyncFailure("Google answered 429", retryable=True)


@pytest.fixture(autouse=True)
def backoff(settings):
    settings.SHEETS_RETRY_BASE_SECONDS = 2
    settings.SHEETS_RETRY_MAX_SECONDS = 240


@pytest.mark.parametrize("retries, low, high", [(0, 1, 2), (1, 2, 4), (3, 8, 16), (7, 120, 240), (30, 120, 240)])
def test_the_wait_doubles_with_each_retry_has_jitter_and_is_capped(retries, low, high):
    waits = {retry_countdown(PASSING, retries) for _ in range(50)}
    assert all(low <= wait <= high for wait in waits)
    assert len(waits) > 1


def test_there_is_no_retry_after_success_or_for_what_needs_a_person():
    assert retry_countdown(None, 0) is None
    assert retry_countdown(SyncFailure("Google refused access (403)", retryable=False), 0) is None


def test_retries_go_on_until_the_write_lands_unless_a_limit_is_set(settings):
    assert retry_countdown(PASSING, 1000) is not None
    settings.SHEETS_SYNC_MAX_RETRIES = 3
    assert retry_countdown(PASSING, 2) is not None
    assert retry_countdown(PASSING, 3) is None
