"""In a real Chromium: a Vietnamese browser gets the pages in Vietnamese, and on a 390 px phone
the longer Vietnamese text wraps instead of widening the page (no sideways scroll), with no
policy violation (the chooser is a plain form, the scripts' words come from /jsi18n/). The
chooser switches a page to Vietnamese and the login keeps it. Screenshots go to
ROLLCALL_SCREENSHOTS when it is set."""

from datetime import timedelta

import pytest
from django.utils import timezone

from access.models import LanguagePreference
from students.attendance import mark_seen
from tests.factories import make_course, make_session, make_student, make_user
from tests.web.conftest import BROWSER_TESTS
from tests.web.test_csp_browser import assert_no_violation, screenshots_dir, watched

pytestmark = BROWSER_TESTS

PHONE = {"width": 390, "height": 844}
NAMES = ["Nguyễn Thị Ánh", "Trần Văn Bình", "Lê Hoàng Phương Thảo", "Phạm Nguyễn Khánh Linh"]


@pytest.fixture
def lesson(db):
    teacher = make_user("teacher", role="Teacher", first_name="Thu", last_name="Hà")
    students = [make_student(f"S{number}", name) for number, name in enumerate(NAMES, 1)]
    course = make_course("TOAN10", teacher=teacher, students=students)
    session = make_session(course, timezone.now() - timedelta(minutes=20))
    mark_seen(session, students[0], timezone.now(), "photo", 0.31)
    return session


def vietnamese_phone(open_browser):
    browser = open_browser().context.browser
    page = browser.new_page(locale="vi-VN", viewport=PHONE)
    page.set_default_timeout(60_000)
    return watched(page)


def sideways_overflow(page):
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_a_vietnamese_phone_gets_vietnamese_pages_that_fit(open_browser, live_server, lesson, tmp_path):
    page = vietnamese_phone(open_browser)
    page.goto(f"{live_server.url}/login/")
    assert page.get_attribute("html", "lang") == "vi"
    page.get_by_label("Tên đăng nhập").fill("teacher")
    page.get_by_label("Mật khẩu").fill("pw-teacher")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live_server.url}/")
    folder = screenshots_dir(tmp_path)
    for path, heading, name in [
        (f"/sessions/{lesson.pk}/", "Thêm ảnh lớp", "session"),
        (f"/courses/{lesson.course_id}/", "Chuyên cần dưới", "course"),
    ]:
        page.goto(f"{live_server.url}{path}")
        page.get_by_role("heading", name=heading).wait_for()
        assert sideways_overflow(page) == 0, f"the {name} page scrolls sideways at 390 px"
        page.screenshot(path=str(folder / f"vi-{name}-390.png"), full_page=True)
        assert_no_violation(page, f"the Vietnamese {name} page")
    # The script's own words: this browser has no webcam, and the page says so in Vietnamese.
    page.goto(f"{live_server.url}/sessions/{lesson.pk}/")
    page.get_by_role("button", name="Bật camera").click()
    page.locator("#camera-status").get_by_text("Không tìm thấy camera trên thiết bị này.").wait_for()


def test_the_chooser_switches_to_vietnamese_and_the_login_keeps_it(open_browser, live_server, lesson):
    teacher = lesson.course.teachers.get()
    page = open_browser()
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("teacher")
    page.get_by_label("Password").fill("pw-teacher")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    page.get_by_label("Language").select_option("vi")
    page.get_by_role("button", name="Change").click()
    page.get_by_role("heading", name="Xin chào, Thu Hà").wait_for()
    assert LanguagePreference.objects.get(user=teacher).language == "vi"


def test_a_school_admin_s_today_page_in_vietnamese_fits_a_phone(open_browser, live_server, lesson, tmp_path):
    make_user("boss", role="Admin", is_staff=True, is_superuser=True)
    page = vietnamese_phone(open_browser)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Tên đăng nhập").fill("boss")
    page.get_by_label("Mật khẩu").fill("pw-boss")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live_server.url}/")
    page.get_by_role("link", name="Hôm nay ở trường").click()
    page.get_by_role("heading", name="Hôm nay ở trường").wait_for()
    # The lesson began 20 minutes ago and a photo took it.
    assert page.get_by_text("Đang diễn ra").count() == 1 and page.get_by_text("Đã điểm danh").count() == 1
    assert sideways_overflow(page) == 0, "the today page scrolls sideways at 390 px"
    page.screenshot(path=str(screenshots_dir(tmp_path) / "vi-today-390.png"), full_page=True)
    assert_no_violation(page, "the Vietnamese today page")
