"""The admin's chores in a real Chromium, at a desktop's and a phone's width, under the site's
Content-Security-Policy: recording consent (on the student's form, and by the list action's
page that asks who gave it), adding a teacher, the friendly 404, the API reference; and the
camera pages saying why a camera did not start, and stopping it."""

import time

import pytest
from django.core import mail

from recognition.enrolment import add_enrolment_photo
from recognition.models import FacePhoto
from students.models import Student
from tests.factories import make_course, make_session, make_student, make_user
from tests.web.conftest import BROWSER_TESTS, log_in
from tests.web.test_browser_camera import write_y4m
from tests.web.test_csp_browser import assert_no_violation, screenshots_dir, visit, watched

pytestmark = BROWSER_TESTS

WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


def wait_until(condition, seconds, page):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s"
        page.wait_for_timeout(200)


def admin_page(open_browser, live_server, width, **browser):
    make_user("boss", role="Admin", is_staff=True, is_superuser=True, first_name="Bernie", last_name="Boss")
    page = watched(open_browser(**browser))
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width])))
    log_in(page, live_server, "boss")
    return page


def portrait(faces_dataset, name="BBT_Stuart"):
    return sorted((faces_dataset / "identities" / name).iterdir())[0].read_bytes()


@pytest.mark.parametrize("width", WIDTHS)
def test_consent_given_on_the_student_form_is_recorded_and_the_photo_checked(
    open_browser, live_server, faces_dataset, eager_celery, tmp_path, width
):
    stuart = make_student("S7", "Stuart Bloom")
    photo, _ = add_enrolment_photo(stuart, portrait(faces_dataset), source=FacePhoto.ADMIN)
    page = admin_page(open_browser, live_server, width)
    visit(page, f"{live_server.url}/admin/students/student/{stuart.pk}/change/", "student change page")
    assert page.locator(".field-photo_status").first.inner_text().strip() == "Pending"  # the stored photo
    page.get_by_label("Consent given by").fill("Mary Bloom (mother)")
    page.get_by_role("button", name="Save and continue editing").click()
    page.locator(".messagelist").get_by_text("Consent recorded, given by Mary Bloom (mother).").wait_for()
    assert_no_violation(page, "student change page, consent recorded")
    stuart.refresh_from_db()
    assert (stuart.has_consent, stuart.consent_recorded_by.username) == (True, "boss")
    wait_until(lambda: FacePhoto.objects.get(pk=photo.pk).status == FacePhoto.ACCEPTED, 60, page)
    page.screenshot(path=str(screenshots_dir(tmp_path) / f"consent-form-{width}.png"), full_page=True)


def test_a_pending_enrolment_photo_shows_the_workers_decision_without_a_reload(
    open_browser, live_server, faces_dataset
):
    stuart = make_student("S7", "Stuart Bloom")
    photo, _ = add_enrolment_photo(stuart, portrait(faces_dataset), source=FacePhoto.ADMIN)  # no consent yet: pending
    page = admin_page(open_browser, live_server, "phone")
    visit(page, f"{live_server.url}/admin/students/student/{stuart.pk}/change/", "student change page")
    status = page.locator(f'.photo-status[data-photo="{photo.pk}"]')
    assert status.inner_text() == "Pending"
    page.evaluate("window.__notReloaded = true")

    # The worker decides (here, as its admission would write it).
    FacePhoto.objects.filter(pk=photo.pk).update(status=FacePhoto.HELD, hold_reason="Looks like Howard Wolowitz")

    page.locator(f'.photo-status[data-photo="{photo.pk}"][data-status="held"]').wait_for()
    assert status.inner_text() == FacePhoto(status=FacePhoto.HELD).get_status_display()
    assert page.locator(f'.photo-reason[data-photo="{photo.pk}"]').inner_text() == "Looks like Howard Wolowitz"
    assert page.evaluate("window.__notReloaded") is True
    assert_no_violation(page, "student change page, photo status followed")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_consent_action_asks_who_gave_it_before_recording(open_browser, live_server, tmp_path, width):
    make_student("S1", "Ada Lovelace")
    make_student("S2", "Bob Babbage")
    page = admin_page(open_browser, live_server, width)
    visit(page, f"{live_server.url}/admin/students/student/", "student list")
    page.locator("#action-toggle").check()
    page.locator("select[name=action]").select_option("record_consent")
    page.get_by_role("button", name="Go").click()
    page.get_by_label("Consent given by").wait_for()
    assert_no_violation(page, "record consent page")
    page.get_by_role("button", name="Record consent").click()  # nothing typed: refused
    page.locator(".errorlist").get_by_text("This field is required.").wait_for()
    assert not Student.objects.filter(consent_recorded_at__isnull=False).exists()
    page.get_by_label("Consent given by").fill("Signed forms, Sept 2026")
    page.screenshot(path=str(screenshots_dir(tmp_path) / f"consent-action-{width}.png"), full_page=True)
    page.get_by_role("button", name="Record consent").click()
    page.locator(".messagelist").get_by_text(
        "Consent recorded for 2 students, given by Signed forms, Sept 2026."
    ).wait_for()
    assert set(Student.objects.values_list("consent_given_by", flat=True)) == {"Signed forms, Sept 2026"}


@pytest.mark.parametrize("width", WIDTHS)
def test_an_admin_adds_a_teacher_in_one_form(open_browser, live_server, tmp_path, width):
    make_course("MATH1")
    make_course("ART1")
    page = admin_page(open_browser, live_server, width)
    visit(page, f"{live_server.url}/admin/students/course/", "course list")
    page.get_by_role("link", name="Add a teacher").click()
    page.get_by_label("Full name").wait_for()
    assert_no_violation(page, "add a teacher")
    page.get_by_label("Full name").fill("Penny Hofstadter")
    page.get_by_label("E-mail").fill("penny@school.example")
    page.locator("#id_courses_from").select_option(label="ART1 Course ART1")
    page.locator("#id_courses_add").click()
    page.screenshot(path=str(screenshots_dir(tmp_path) / f"add-teacher-{width}.png"), full_page=True)
    page.get_by_role("button", name="Add and send the invitation").click()
    page.locator(".messagelist").get_by_text("Penny Hofstadter can now choose a password").wait_for()
    assert_no_violation(page, "course list after adding a teacher")
    [invitation] = mail.outbox
    assert invitation.to == ["penny@school.example"] and "ART1" in invitation.body and "MATH1" not in invitation.body

    # The course's teacher picker names her.
    page.goto(f"{live_server.url}/admin/students/course/")
    page.get_by_role("link", name="ART1").click()
    assert "Penny Hofstadter (penny@school.example)" in page.locator("#id_teachers_to").inner_text()
    assert_no_violation(page, "course change page")


def test_the_friendly_404_and_the_api_reference_work_under_the_policy(open_browser, live_server, tmp_path):
    teacher = make_user("teacher", role="Teacher")
    make_course("MATH1", teacher=teacher)
    other = make_course("ART1")
    page = watched(open_browser())
    log_in(page, live_server, "teacher")
    visit(page, f"{live_server.url}/courses/{other.pk}/", "404 page")
    assert "You don't teach this course, or it does not exist." in page.locator("main").inner_text()
    page.screenshot(path=str(screenshots_dir(tmp_path) / "not-found-1280.png"), full_page=True)

    page.goto(f"{live_server.url}/api/docs/")
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() >= 8
    assert_no_violation(page, "API docs")
    # The schemas at the foot of the page, one opened: its fields come with their descriptions.
    page.locator("section.models .model-container", has_text="RosterEntry").locator(".model-box-control").first.click()
    page.locator("section.models").get_by_text("null until they are seen or marked").first.wait_for()
    assert_no_violation(page, "API docs, an operation open")
    page.screenshot(path=str(screenshots_dir(tmp_path) / "api-docs-1280.png"), full_page=True)


# --- The camera pages ----------------------------------------------------------------------


def enrol_page(open_browser, live_server, **browser):
    page = admin_page(open_browser, live_server, "desktop", **browser)
    raj = make_student("S9", "Raj Koothrappali")
    page.goto(f"{live_server.url}/students/{raj.pk}/enrol/")
    return page


def started_and_refused(page, status_id):
    page.get_by_role("button", name="Start camera").click()
    status = page.locator(f"#{status_id}.problem")
    status.wait_for()
    return status.inner_text()


def test_without_a_camera_the_pages_say_so_not_that_access_was_refused(open_browser, live_server):
    page = enrol_page(open_browser, live_server)
    assert started_and_refused(page, "enrol-result") == "No camera was found on this device."
    teacher = make_user("teacher", role="Teacher")
    session = make_session(make_course("MATH1", teacher=teacher))
    page = open_browser()
    log_in(page, live_server, "teacher")
    page.goto(f"{live_server.url}/sessions/{session.pk}/")
    assert started_and_refused(page, "camera-status") == "No camera was found on this device."
    assert page.locator("#camera-video").is_hidden()


def test_a_refused_camera_is_reported_as_refused(open_browser, live_server, tmp_path, faces_dataset):
    camera, _ = write_y4m(tmp_path / "raj.y4m", sorted((faces_dataset / "identities" / "BBT_Raj").iterdir())[0])
    page = enrol_page(open_browser, live_server, camera=camera, allow_camera=False)
    assert started_and_refused(page, "enrol-result") == (
        "Camera access was refused: allow it in the browser's site settings, then try again."
    )


def test_over_plain_http_the_page_says_the_camera_needs_https(
    open_browser, live_server, settings, tmp_path, faces_dataset
):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "rollcall.test"]
    camera, _ = write_y4m(tmp_path / "raj.y4m", sorted((faces_dataset / "identities" / "BBT_Raj").iterdir())[0])
    make_user("boss", role="Admin", is_staff=True, is_superuser=True)
    raj = make_student("S9", "Raj Koothrappali")
    page = open_browser(camera=camera, extra_args=["--host-resolver-rules=MAP rollcall.test 127.0.0.1"])
    # Not localhost: a page served over plain HTTP from any other name is not a secure context.
    site = live_server.url.replace("localhost", "rollcall.test")
    page.goto(f"{site}/login/")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill("pw-boss")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{site}/")
    page.goto(f"{site}/students/{raj.pk}/enrol/")
    assert (
        started_and_refused(page, "enrol-result") == "The camera needs HTTPS: open this page at its https:// address."
    )


STREAM_ENDED = "window.__stream.getTracks().every((track) => track.readyState === 'ended')"


def test_stop_turns_the_camera_off_on_both_pages(open_browser, live_server, tmp_path, faces_dataset):
    camera, _ = write_y4m(tmp_path / "raj.y4m", sorted((faces_dataset / "identities" / "BBT_Raj").iterdir())[0])
    page = enrol_page(open_browser, live_server, camera=camera)
    page.get_by_role("button", name="Start camera").click()
    page.get_by_role("button", name="Take photo").wait_for(state="attached")
    wait_until(lambda: page.get_by_role("button", name="Stop camera").is_enabled(), 20, page)
    page.evaluate("window.__stream = document.getElementById('enrol-video').srcObject")
    page.get_by_role("button", name="Stop camera").click()
    assert page.evaluate(STREAM_ENDED)
    assert page.get_by_role("button", name="Take photo").is_disabled()
    assert page.get_by_role("button", name="Start camera").is_enabled()

    teacher = make_user("teacher", role="Teacher")
    session = make_session(make_course("MATH1", teacher=teacher))
    page = open_browser(camera=camera)
    log_in(page, live_server, "teacher")
    page.goto(f"{live_server.url}/sessions/{session.pk}/")
    page.get_by_role("button", name="Start camera").click()
    page.locator("#camera-status").get_by_text("Camera on:").wait_for()
    page.get_by_label("every").check()
    page.evaluate("window.__stream = document.getElementById('camera-video').srcObject")
    page.get_by_role("button", name="Stop camera").click()
    page.locator("#camera-status").get_by_text("Camera off.").wait_for()
    assert page.evaluate(STREAM_ENDED)
    assert page.locator("#camera-video").is_hidden()
    assert page.get_by_label("every").is_disabled() and not page.get_by_label("every").is_checked()
