"""The privacy pages in Chromium, on a phone and a desktop, under the site's
Content-Security-Policy: a family reaches the privacy page from the login page's footer; an
admin withdraws a student's consent from the student's page."""

import pytest
from django.core.files.base import ContentFile

from recognition.models import FacePhoto
from students.consent import record_consent
from students.models import ConsentWithdrawal, Student
from tests.factories import make_student
from tests.helpers import photo_jpeg
from tests.web.conftest import BROWSER_TESTS
from tests.web.test_admin_browser import WIDTHS, admin_page
from tests.web.test_csp_browser import assert_no_violation, screenshots_dir, visit, watched

pytestmark = BROWSER_TESTS


@pytest.mark.parametrize("width", WIDTHS)
def test_a_family_reaches_the_privacy_page_from_the_footer_and_reads_it_on_any_screen(
    open_browser, live_server, width, tmp_path
):
    page = watched(open_browser())
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width])))
    visit(page, f"{live_server.url}/login/", "login")
    page.get_by_role("link", name="Privacy: how Roll Call uses students' faces").click()

    page.get_by_role("heading", name="How Roll Call uses students' faces").wait_for()
    page.get_by_role("heading", name="How to withdraw consent").wait_for()
    assert_no_violation(page, "privacy page")
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width][0]
    page.screenshot(path=str(screenshots_dir(tmp_path) / f"privacy-{width}.png"), full_page=True)


@pytest.mark.parametrize("width", WIDTHS)
def test_an_admin_withdraws_consent_from_the_students_page(open_browser, live_server, width, tmp_path):
    stuart = make_student("S7", "Stuart Bloom")
    record_consent(Student.objects.filter(pk=stuart.pk), None, "Mary Bloom (mother)")
    photo = FacePhoto(student=stuart, status=FacePhoto.ACCEPTED)
    photo.image.save("p.jpg", ContentFile(photo_jpeg()))
    page = admin_page(open_browser, live_server, width)
    visit(page, f"{live_server.url}/admin/students/student/{stuart.pk}/change/", "student change page")

    page.get_by_role("link", name="Withdraw consent").click()
    page.get_by_label("Withdrawn on the word of").fill("Mary Bloom (mother), by e-mail")
    assert_no_violation(page, "withdraw consent page")
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width][0]
    page.screenshot(path=str(screenshots_dir(tmp_path) / f"withdraw-consent-{width}.png"), full_page=True)
    page.get_by_role("button", name="Withdraw consent").click()

    page.locator(".messagelist").get_by_text("Consent withdrawn for 1 student").wait_for()
    assert ConsentWithdrawal.objects.get().withdrawn_by == "Mary Bloom (mother), by e-mail"
    assert not FacePhoto.objects.exists()
