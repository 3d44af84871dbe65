"""The roles (access/roles.py) and the reach of each (students/ and recognition/permissions.py),
refused where they should be on the pages, the API, the file views and /admin/: a school admin
is a staff user who is a superuser or in the Admin group; a teacher is in the Teacher group and
reaches the courses that list them; a student reads only their own attendance; a device token
reaches its sessions through the API only. The role groups come from a migration."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.base import ContentFile
from django.urls import reverse

from recognition.models import Capture, DetectedFace, FacePhoto
from tests.factories import make_course, make_session, make_student, make_user
from tests.helpers import photo_jpeg
from tests.web.school import device_token


@pytest.fixture
def reach(school):
    """Something of every kind a caller may reach, in the teacher's course: a capture with a face
    crop, and an enrolment photo of one of its students."""
    capture = Capture(
        session=school.session,
        taken_at=school.session.starts_at + timedelta(minutes=20),
        status=Capture.DONE,
        width=320,
        height=240,
    )
    capture.image.save("class.jpg", ContentFile(photo_jpeg()), save=False)
    capture.save()
    face = DetectedFace(capture=capture, x1=20, y1=30, x2=90, y2=110, score=0.99)
    face.crop.save("face.jpg", ContentFile(photo_jpeg((80, 80))), save=False)
    face.save()
    photo = FacePhoto(student=school.ada, content_sha256="0" * 64)
    photo.image.save("enrolment.jpg", ContentFile(photo_jpeg(seed=1)), save=False)
    photo.save()
    return school, capture, face, photo


def pages(school, capture, face, photo):
    """(method, url, data) of every page and file view of the teacher's course."""
    course, session, ada = school.course.pk, school.session.pk, school.ada.pk
    return [
        ("get", f"/courses/{course}/", None),
        ("get", f"/courses/{course}/attendance.csv", None),
        ("get", f"/sessions/{session}/", None),
        ("post", f"/sessions/{session}/students/{ada}/status/", {"status": "absent"}),
        ("post", f"/sessions/{session}/close/", {}),
        ("get", f"/files/captures/{capture.pk}/", None),
        ("get", f"/files/faces/{face.pk}/", None),
        ("get", f"/files/enrolment/{photo.pk}/", None),
        ("post", f"/faces/{face.pk}/assign/", {"student": ada}),
        ("post", f"/captures/{capture.pk}/retry/", {}),
        ("get", f"/students/{ada}/enrol/", None),
    ]


def api_objects(school, capture):
    """(method, url, data) of every API route about one object of the teacher's course."""
    course, session, ada = school.course.pk, school.session.pk, school.ada.pk
    return [
        ("get", f"/api/courses/{course}/sessions/", None),
        ("post", f"/api/courses/{course}/sessions/", {}),
        ("get", f"/api/sessions/{session}/captures/", None),
        ("post", f"/api/sessions/{session}/captures/", {}),
        ("get", f"/api/sessions/{session}/attendance/", None),
        ("patch", f"/api/sessions/{session}/attendance/{ada}/", {"status": "absent"}),
        ("get", f"/api/captures/{capture.pk}/", None),
    ]


def answer(client, method, url, data, **headers):
    if method == "patch":
        return client.patch(url, data, content_type="application/json", **headers)
    return getattr(client, method)(url, data, **headers)


def nothing_changed(school, capture):
    capture.refresh_from_db()
    school.session.refresh_from_db()
    assert capture.status == Capture.DONE and school.session.closed_at is None
    assert not school.session.attendance.exists()


def refused_people(school):
    listed = make_user("listed")  # on the course's teachers, not in the Teacher group
    school.course.teachers.add(listed)
    return {
        "staff user not in the Admin group": make_user("staffer", is_staff=True),
        "Admin group without staff status": make_user("groupie", role="Admin"),
        "listed teacher not in the Teacher group": listed,
        "Teacher group, not listed on the course": make_user("unlisted", role="Teacher"),
        "student": school.ada_user,
    }


REFUSED = [
    "staff user not in the Admin group",
    "Admin group without staff status",
    "listed teacher not in the Teacher group",
    "Teacher group, not listed on the course",
    "student",
]


@pytest.mark.parametrize("who", REFUSED)
def test_a_login_without_the_role_reaches_no_page_file_or_api_object_of_the_course(client, reach, who):
    school, capture, face, photo = reach
    client.force_login(refused_people(school)[who])

    for method, url, data in pages(school, capture, face, photo) + api_objects(school, capture):
        assert answer(client, method, url, data).status_code == 404, (method, url)
    assert client.get("/api/courses/").json() == []
    home = client.get("/").content.decode()
    assert "MATH1" not in home and "/admin/" not in home
    nothing_changed(school, capture)


@pytest.mark.parametrize("who", REFUSED)
def test_a_login_without_the_role_is_refused_by_the_admin(client, reach, who):
    school, *_ = reach
    client.force_login(refused_people(school)[who])
    for url in ("/admin/", "/admin/students/student/", "/admin/auth/user/add/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), url


def test_the_admin_login_does_not_log_in_a_staff_user_who_is_not_a_school_admin(client, db):
    make_user("staffer", is_staff=True)
    response = client.post("/admin/login/", {"username": "staffer", "password": "pw-staffer"})
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert "correct username and password for a staff account" in response.content.decode()


def test_anonymous_visitors_are_sent_to_log_in_and_the_api_answers_401(client, reach):
    school, capture, face, photo = reach
    for method, url, data in pages(school, capture, face, photo):
        response = answer(client, method, url, data)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), (method, url)
    for method, url, data in api_objects(school, capture) + [("get", "/api/courses/", None)]:
        assert answer(client, method, url, data).status_code == 401, (method, url)
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
    nothing_changed(school, capture)


def test_a_device_token_reaches_only_the_sessions_and_captures_of_the_api(client, reach):
    school, capture, face, photo = reach
    _, token = device_token(course=school.course)
    headers = {"HTTP_AUTHORIZATION": f"Token {token}"}

    # A token is no login: pages, files and the admin are for people.
    for method, url, data in pages(school, capture, face, photo):
        response = answer(client, method, url, data, **headers)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), (method, url)
    assert client.get("/admin/", **headers)["Location"].startswith("/admin/login/")
    # Its course's sessions, yes; people's work (attendance, new sessions) and others' captures, no.
    assert client.get(f"/api/courses/{school.course.pk}/sessions/", **headers).status_code == 200
    assert client.get(f"/api/sessions/{school.session.pk}/captures/", **headers).json() == []
    refusals = [
        ("post", f"/api/courses/{school.course.pk}/sessions/", {}, 403),
        ("get", f"/api/sessions/{school.session.pk}/attendance/", None, 403),
        ("patch", f"/api/sessions/{school.session.pk}/attendance/{school.ada.pk}/", {"status": "absent"}, 403),
        ("get", "/api/me/attendance/", None, 403),
        ("get", f"/api/captures/{capture.pk}/", None, 404),  # not one it sent
        ("get", f"/api/courses/{school.other_course.pk}/sessions/", None, 404),
    ]
    for method, url, data, status in refusals:
        assert answer(client, method, url, data, **headers).status_code == status, (method, url)
    nothing_changed(school, capture)


def test_a_staff_user_in_the_admin_group_is_a_school_admin_everywhere(client, reach):
    school, capture, face, photo = reach
    admin = make_user("office", role="Admin", is_staff=True)  # no superuser flag
    client.force_login(admin)

    for method, url, _data in pages(school, capture, face, photo):
        if method == "get":
            assert client.get(url).status_code == 200, url
    assert {course["code"] for course in client.get("/api/courses/").json()} == {"MATH1", "ART1"}
    assert client.get(f"/api/captures/{capture.pk}/").status_code == 200
    assert 'href="/admin/"' in client.get("/").content.decode()
    # The Admin group holds no model permissions: the role alone opens every admin page.
    for url in (
        "/admin/",
        "/admin/students/student/",
        "/admin/auth/user/add/",
        f"/admin/students/course/{school.course.pk}/change/",
    ):
        assert client.get(url).status_code == 200, url


def test_a_listed_teacher_in_the_teacher_group_reaches_their_course_and_no_other(client, reach):
    school, capture, face, photo = reach
    client.force_login(school.teacher)
    for method, url, _data in pages(school, capture, face, photo):
        if method == "get" and "enrol" not in url:
            assert client.get(url).status_code == 200, url
    # A teacher sees the enrolment photos of their own course's students (to review them), but
    # enrols nobody by camera and sees no photo of another course's student.
    assert client.get(f"/files/enrolment/{photo.pk}/").status_code == 200
    assert client.get(f"/students/{school.ada.pk}/enrol/").status_code == 404
    outsider = FacePhoto.objects.create(student=school.dan, image=photo.image.name)
    assert client.get(f"/files/enrolment/{outsider.pk}/").status_code == 404
    assert [course["code"] for course in client.get("/api/courses/").json()] == ["MATH1"]
    assert client.get(f"/courses/{school.other_course.pk}/").status_code == 404
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


def test_the_school_fixture_describes_valid_users(school):
    from access.roles import is_school_admin, is_teacher, student_of

    assert is_school_admin(school.admin) and not is_school_admin(school.teacher)
    assert is_teacher(school.teacher) and is_teacher(school.other_teacher) and not is_teacher(school.ada_user)
    assert student_of(school.ada_user) == school.ada
    assert not User.objects.filter(is_staff=True).exclude(pk=school.admin.pk).exists()


@pytest.mark.django_db
def test_role_groups_are_created_by_migration():
    assert set(Group.objects.values_list("name", flat=True)) >= {"Admin", "Teacher", "Student"}


ADMIN_PAGES = [
    "admin:students_student_changelist",
    "admin:students_student_add",
    "admin:students_course_changelist",
    "admin:students_course_add",
    "admin:students_classsession_changelist",
    "admin:students_attendancerecord_changelist",
    "admin:recognition_facephoto_changelist",
    "admin:recognition_capture_changelist",
]


@pytest.mark.django_db
@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_admin_pages_render_for_staff(client, page):
    client.force_login(make_user("boss", role="Admin", is_staff=True, is_superuser=True))
    student = make_student("S1")
    make_session(make_course(students=[student]))
    response = client.get(reverse(page))
    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["Teacher", "Student"])
def test_admin_is_refused_to_teachers_and_students(client, role):
    client.force_login(make_user("someone", role=role))
    response = client.get(reverse("admin:students_student_changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
