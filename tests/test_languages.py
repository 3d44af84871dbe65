"""The site in the reader's language: English by default, Vietnamese for a browser that asks for
it, a chooser that sets it (and a logged-in person's preference, which follows them), absence
e-mails in the language the school set for guardians or the one set for the student, and
Vietnamese names found without their tone marks."""

from datetime import timedelta

import pytest
from django.contrib.admin.sites import site
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from access.models import LanguagePreference
from students import notices
from students.attendance import close_session, mark_seen
from students.models import Student
from students.names import name_sort_key, search_key
from tests.factories import make_course, make_session, make_student, make_user
from tests.test_notices import DELAY, body_of

VIETNAMESE = {"HTTP_ACCEPT_LANGUAGE": "vi"}


@pytest.fixture
def teacher(db):
    return make_user("tess", role="Teacher", first_name="Tess", last_name="Teacher", email="tess@school.example")


@pytest.fixture
def course(teacher):
    course = make_course("MATH1", teacher=teacher)
    course.students.add(make_student("S1", "Nguyễn Thị Ánh"), make_student("S2", "Trần Văn Bình"))
    return course


@pytest.fixture
def session(course):
    return make_session(course, timezone.now() - timedelta(minutes=30))


def page(client, url, **headers):
    response = client.get(url, **headers)
    assert response.status_code == 200
    return response.content.decode()


def test_the_login_page_is_in_english_by_default_and_in_vietnamese_for_a_vietnamese_browser(client, db):
    english = page(client, reverse("login"))
    assert '<html lang="en-gb">' in english and "<h1>Log in</h1>" in english
    vietnamese = page(client, reverse("login"), **VIETNAMESE)
    assert '<html lang="vi">' in vietnamese
    for words in ("<h1>Đăng nhập</h1>", "E-mail hoặc tên đăng nhập", "Quên mật khẩu?"):
        assert words in vietnamese, words
    assert "Log in" not in vietnamese


def test_a_teacher_s_session_and_course_pages_are_in_vietnamese(client, teacher, course, session):
    mark_seen(session, course.students.get(student_number="S1"), timezone.now(), "photo", 0.3)
    client.force_login(teacher)
    session_page = page(client, reverse("session_detail", args=[session.pk]), **VIETNAMESE)
    for words in ("Thêm ảnh lớp", "Kết thúc buổi học", "Danh sách lớp", "Có mặt", "Chưa thấy"):
        assert words in session_page, words
    assert "Add class photos" not in session_page and "Roster" not in session_page
    course_page = page(client, reverse("course_detail", args=[course.pk]), **VIETNAMESE)
    for words in ("Buổi học mới", "Tạo buổi học", "Chuyên cần =", "Chưa có buổi học nào được điểm danh"):
        assert words in course_page, words
    assert "New session" not in course_page
    # The same pages in English for a browser that asks for nothing.
    assert "Add class photos" in page(client, reverse("session_detail", args=[session.pk]))


def test_a_student_s_page_is_in_vietnamese(client, course, session):
    student = course.students.get(student_number="S1")
    student.user = make_user("anh")
    student.save()
    client.force_login(student.user)
    mine = page(client, reverse("my_attendance"), **VIETNAMESE)
    assert "<h1>Điểm danh của tôi</h1>" in mine and "Chưa ghi nhận" in mine
    # Dates in the language's format: Vietnamese writes the weekday "Thứ" and the day as 2/3/2026.
    assert "Thứ" in mine or "Chủ nhật" in mine


def test_the_chooser_sets_the_language_and_a_logged_in_person_keeps_it_on_any_browser(client, teacher):
    answer = client.post(reverse("set_language"), {"language": "vi"}, HTTP_REFERER="http://testserver/login/")
    assert answer.status_code == 302 and answer["Location"] == "http://testserver/login/"  # back where it was
    assert "<h1>Đăng nhập</h1>" in page(client, reverse("login"))  # the cookie, without a login
    assert not LanguagePreference.objects.exists()

    client.force_login(teacher)
    client.post(reverse("set_language"), {"language": "vi", "next": "/"})
    assert LanguagePreference.objects.get(user=teacher).language == "vi"

    elsewhere = type(client)()  # another browser, asking for English
    elsewhere.force_login(teacher)
    assert "<h1>Xin chào, Tess Teacher</h1>" in page(elsewhere, reverse("home"), HTTP_ACCEPT_LANGUAGE="en")


def test_the_chooser_is_a_form_on_every_page(client, db):
    login = page(client, reverse("login"))
    assert f'action="{reverse("set_language")}"' in login and 'name="language"' in login
    assert '<option value="vi" lang="vi">Tiếng Việt</option>' in login


def absence_notice(course, student):
    session = make_session(course, timezone.now() - timedelta(hours=2))
    close_session(session, course.teachers.get())
    session.refresh_from_db()
    notices.record_absence_notices(session.closed_at + DELAY)
    return notices.Notice.objects.get(student=student, session=session)


@pytest.fixture
def guardian(course):
    student = course.students.get(student_number="S1")
    student.guardian_email = "phuhuynh@home.example"
    student.save()
    return student


def test_an_absence_e_mail_is_in_the_school_s_language_for_guardians(smtp, settings, course, guardian):
    settings.GUARDIAN_EMAIL_LANGUAGE = "vi"
    notice = absence_notice(course, guardian)
    assert notice.subject.startswith("Vắng mặt: Nguyễn Thị Ánh, MATH1, Thứ")
    assert notice.body.startswith("Kính gửi quý phụ huynh của em Nguyễn Thị Ánh,\n\nEm Nguyễn Thị Ánh được ghi vắng")
    assert "văn phòng nhà trường" in notice.body and " đến " in notice.body
    notices.send_due_notices(timezone.now() + timedelta(days=1))
    [message] = smtp.messages
    assert message["Subject"].strip() == notice.subject and body_of(message) == notice.body


def test_a_student_s_own_e_mail_language_beats_the_school_s(settings, course, guardian):
    settings.GUARDIAN_EMAIL_LANGUAGE = "vi"
    guardian.email_language = "en-gb"
    guardian.save()
    notice = absence_notice(course, guardian)
    assert notice.subject.startswith("Absence: Nguyễn Thị Ánh, MATH1 on ")
    assert notice.body.startswith("Dear parent or guardian of Nguyễn Thị Ánh,")


def test_absence_e_mails_are_in_english_by_default(settings, course, guardian):
    assert settings.GUARDIAN_EMAIL_LANGUAGE == settings.LANGUAGE_CODE == "en-gb"
    assert absence_notice(course, guardian).body.startswith("Dear parent or guardian of Nguyễn Thị Ánh,")


def test_nguyen_finds_nguyen_with_its_tone_marks_in_the_admin_search(course):
    admin_user = make_user("head", role="Admin")
    student_admin = site._registry[Student]
    for typed in ("Nguyen", "nguyen anh", "NGUYỄN", "Thi Anh"):
        request = RequestFactory().get("/admin/students/student/", {"q": typed})
        request.user = admin_user
        found, _duplicates = student_admin.get_search_results(request, Student.objects.all(), typed)
        assert [student.full_name for student in found] == ["Nguyễn Thị Ánh"], typed
    assert Student.objects.get(student_number="S2").search_name == "tran van binh"
    assert search_key("Đặng Thu Hà") == "dang thu ha"


def test_class_lists_follow_the_vietnamese_alphabet_by_given_name():
    names = ["Trần Văn Bình", "Đỗ Đức", "Vũ Dũng", "Lê Ăn", "Hà Anh", "Nguyễn Văn An", "Phạm Ân", "Hồ Ánh"]
    assert sorted(names, key=name_sort_key) == [
        "Nguyễn Văn An",
        "Hà Anh",
        "Hồ Ánh",
        "Lê Ăn",
        "Phạm Ân",
        "Trần Văn Bình",
        "Vũ Dũng",
        "Đỗ Đức",
    ]


def test_a_refused_upload_says_why_in_the_teacher_s_language(client, teacher, session):
    client.force_login(teacher)
    empty = SimpleUploadedFile("class.jpg", b"", content_type="image/jpeg")
    answer = client.post(f"/api/sessions/{session.pk}/captures/", {"image": empty}, **VIETNAMESE)
    assert answer.status_code == 400
    assert "Tệp trống. Hãy chọn lại ảnh và tải lên lần nữa." in answer.content.decode()
    gif = SimpleUploadedFile("class.jpg", b"GIF89a" + bytes(32), content_type="image/jpeg")
    answer = client.post(f"/api/sessions/{session.pk}/captures/", {"image": gif}, **VIETNAMESE)
    assert "Tệp này là ảnh GIF." in answer.content.decode()
