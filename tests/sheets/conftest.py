import json

import pytest

from .fake_google import FakeGoogle, new_service_account_key, service_account_info

SERVICE_ACCOUNT_EMAIL = "rollcall-sync@rollcall-test.iam.gserviceaccount.com"
SCHOOL_SPREADSHEET = "school-book"


@pytest.fixture(scope="session")
def service_account_key():
    return new_service_account_key()


@pytest.fixture
def google(service_account_key, settings, tmp_path):
    """The fake Google, serving one shared spreadsheet that every course defaults to."""
    fake = FakeGoogle(SERVICE_ACCOUNT_EMAIL, service_account_key.public_key())
    fake.start()
    fake.add_spreadsheet(SCHOOL_SPREADSHEET)
    write_key_file(tmp_path / "key.json", service_account_key, fake)
    settings.GOOGLE_SERVICE_ACCOUNT_FILE = str(tmp_path / "key.json")
    settings.GOOGLE_SHEETS_API_URL = f"{fake.url}/v4/spreadsheets"
    settings.GOOGLE_SHEETS_CHECKMARK_SPREADSHEET_ID = SCHOOL_SPREADSHEET
    settings.GOOGLE_SHEETS_TIMESTAMP_SPREADSHEET_ID = SCHOOL_SPREADSHEET
    settings.SHEETS_RETRY_BASE_SECONDS = 0.01
    yield fake
    fake.stop()


def write_key_file(path, private_key, fake):
    path.write_text(json.dumps(service_account_info(private_key, SERVICE_ACCOUNT_EMAIL, f"{fake.url}/token")))
