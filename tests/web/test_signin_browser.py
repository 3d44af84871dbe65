"""In a real Chromium, under the Content-Security-Policy: a forgotten password is reset through the
e-mail's link and the new one logs in, and a teacher signs in with the school's Google account
(the local fake provider) or is told why not. Screenshots of each page at 1280 and 390 px go to
ROLLCALL_SCREENSHOTS when it is set."""

import re

from django.core import mail

from tests.factories import make_course, make_user
from tests.test_signin import fake_provider, google_at_school, person  # noqa: F401 (fixtures)
from tests.web.conftest import BROWSER_TESTS
from tests.web.test_csp_browser import assert_no_violation, screenshots_dir, visit, watched

pytestmark = BROWSER_TESTS

NEW_PASSWORD = "correct-horse-battery-42"


def shoot_both_widths(page, folder, name):
    """Screenshots at a laptop's and a phone's width; on the phone nothing may stick out sideways."""
    page.screenshot(path=str(folder / f"{name}-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(folder / f"{name}-390.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, name
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_forgotten_password_is_reset_through_the_e_mailed_link(open_browser, live_server, tmp_path, eager_celery):
    # eager_celery: the e-mail, which the worker sends, goes as the request commits.
    teacher = make_user("teacher", role="Teacher", first_name="Tess", last_name="Teacher", email="tess@school.example")
    make_course("MATH1", teacher=teacher)
    shots = screenshots_dir(tmp_path)
    page = watched(open_browser())

    visit(page, f"{live_server.url}/login/", "login")
    shoot_both_widths(page, shots, "login")
    page.get_by_role("link", name="Forgot password?").click()
    page.get_by_role("heading", name="Reset your password").wait_for()
    assert_no_violation(page, "reset request")
    shoot_both_widths(page, shots, "reset-request")
    page.get_by_label("E-mail address").fill("tess@school.example")
    page.get_by_role("button", name="Send the link").click()
    page.get_by_role("heading", name="Check your e-mail").wait_for()
    assert_no_violation(page, "reset sent")
    shoot_both_widths(page, shots, "reset-sent")

    (message,) = mail.outbox
    link = re.search(r"http://\S+/reset/\S+/", message.body)[0]
    assert link.startswith(f"{live_server.url}/reset/")
    page.goto(link)
    page.get_by_role("heading", name="Set a new password").wait_for()
    assert_no_violation(page, "set a new password")
    shoot_both_widths(page, shots, "reset-confirm")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password").click()
    page.get_by_role("heading", name="Your password is set").wait_for()
    assert_no_violation(page, "password set")
    shoot_both_widths(page, shots, "reset-complete")

    page.get_by_role("link", name="Log in").last.click()
    page.get_by_label("Username").fill("teacher")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    page.get_by_role("heading", name="Hello, Tess Teacher").wait_for()
    # The link is spent: a second visit says so.
    page.goto(link)
    page.get_by_role("heading", name="This link does not work").wait_for()


def test_school_account_sign_in_or_why_not(open_browser, live_server, google_at_school, tmp_path):  # noqa: F811
    """A teacher signs in with the school's Google account, after one that has no login was told why not."""
    teacher = make_user("teacher", role="Teacher", first_name="Tess", last_name="Teacher", email="tess@school.example")
    make_course("MATH1", teacher=teacher)
    shots = screenshots_dir(tmp_path)
    page = watched(open_browser())

    google_at_school.signed_in = person("somebody@school.example")
    visit(page, f"{live_server.url}/login/", "login with school accounts")
    shoot_both_widths(page, shots, "login-school-accounts")
    page.get_by_role("link", name="Sign in with Google").click()
    page.get_by_text("No Roll Call login uses this address; ask the school office.").wait_for()
    assert page.url == f"{live_server.url}/login/"
    assert_no_violation(page, "login, sign-in refused")
    shoot_both_widths(page, shots, "login-refused")

    google_at_school.signed_in = person("tess@school.example")
    page.get_by_role("link", name="Sign in with Google").click()
    page.wait_for_url(f"{live_server.url}/")
    page.get_by_role("heading", name="Hello, Tess Teacher").wait_for()
    assert_no_violation(page, "home after signing in with Google")
