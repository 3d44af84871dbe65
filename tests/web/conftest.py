"""Fixtures of the web tests, and the helpers of the tests that drive a real Chromium."""

import shutil
from importlib import import_module

import pytest
from django.db import connections

from tests.helpers import skip_or_fail

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# The pytestmark of a module of browser tests.
BROWSER_TESTS = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.usefixtures("chromium", "role_groups"),
]


@pytest.fixture(scope="session")
def chromium():
    if not shutil.which(CHROMIUM):
        skip_or_fail(f"No Chromium at {CHROMIUM}: install Debian's package (apt-get install chromium); .ci/run does.")


@pytest.fixture
def role_groups(transactional_db):
    """The role groups come from a data migration, which a transactional test's flush removes."""
    from django.apps import apps

    import_module("students.migrations.0002_role_groups").create_role_groups(apps, None)


@pytest.fixture
def open_browser(live_server, monkeypatch):
    """open_browser(camera=None, allow_camera=True, extra_args=()) -> a new page in a new Chromium;
    with camera (a .y4m or .mjpeg file), the browser's only webcam plays that file and camera
    access is granted without asking, or refused when allow_camera is False. Without camera
    the browser has no webcam at all."""
    # Depending on live_server closes the browsers before the server stops.
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # between browser steps are still plain synchronous calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    browsers = []
    with sync_playwright() as playwright:

        def open_page(camera=None, allow_camera=True, extra_args=()):
            args = [*CHROMIUM_ARGS, *extra_args]
            if camera:
                args += ["--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={camera}"]
            if camera and allow_camera:
                args.append("--use-fake-ui-for-media-stream")
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
            browsers.append(browser)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(60_000)
            return page

        yield open_page
        for browser in browsers:
            browser.close()
        # While Playwright's loop runs, the ORM calls of the test get a connection of their own
        # (Django keys connections by async context); close it before the database is dropped.
        connections.close_all()


@pytest.fixture
def page(open_browser):
    return open_browser()


def log_in(page, live_server, username, lands_on="/"):
    """Log in with the factories' password; a student's login lands on their attendance."""
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(f"pw-{username}")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}{lands_on}")
