"""The privacy page in Chromium, on a phone and a desktop: public, readable without sideways
scrolling, and reached from the footer of the login page."""

import pytest

from tests.web.conftest import BROWSER_TESTS

pytestmark = BROWSER_TESTS


@pytest.mark.parametrize("width", [390, 1280])
def test_a_family_reaches_the_privacy_page_from_the_footer_and_reads_it_on_any_screen(
    page, live_server, width, tmp_path
):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server.url}/login/")
    page.get_by_role("link", name="Privacy: how Roll Call uses students' faces").click()

    page.get_by_role("heading", name="How Roll Call uses students' faces").wait_for()
    page.get_by_role("heading", name="How to withdraw consent").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=tmp_path / f"privacy-{width}.png", full_page=True)
