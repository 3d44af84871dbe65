"""The admin's chores: recording consent (the student form and the list action), adding a
teacher in one form, the people pickers, the friendly error pages (with DEBUG on too), the
admin's wording and rounding, and the API reference page."""

import re
from html import unescape
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.utils import formats, timezone

from recognition.enrolment import add_enrolment_photo
from recognition.models import Capture, DetectedFace, FacePhoto
from students.consent import ConsentWithoutGiver, record_consent
from students.models import AttendanceRecord, Student
from tests.factories import make_student, make_user
from tests.helpers import photo_jpeg

pytestmark = pytest.mark.django_db


class FormFields(HTMLParser):
    """The values a browser would post for the form with the given id: inputs, selects, textareas."""

    def __init__(self, form_id):
        super().__init__()
        self.form_id, self.inside, self.values = form_id, False, []
        self.select, self.textarea = None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        if not self.inside or "disabled" in attrs:
            return
        if tag == "input" and attrs.get("name") and attrs.get("type") not in ("submit", "button", "file"):
            if attrs.get("type") not in ("checkbox", "radio") or "checked" in attrs:
                self.values.append((attrs["name"], attrs.get("value", "on" if attrs.get("type") == "checkbox" else "")))
        elif tag == "select":
            self.select = attrs.get("name")
        elif tag == "option" and self.select and "selected" in attrs:
            self.values.append((self.select, attrs.get("value", "")))
        elif tag == "textarea":
            self.textarea = attrs.get("name")
            self.values.append((self.textarea, ""))

    def handle_data(self, data):
        if self.textarea:
            name, value = self.values.pop()
            self.values.append((name, value + data))

    def handle_endtag(self, tag):
        if tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None
        elif tag == "form":
            self.inside = False


def form_post(page, form_id, **changes):
    """The data a browser would post for the form on the page, with fields changed (a list
    value posts the name once per item)."""
    parser = FormFields(form_id)
    parser.feed(page)
    data = {}
    for name, value in parser.values:
        data.setdefault(name, []).append(value)
    data.update({name: value if isinstance(value, list) else [value] for name, value in changes.items()})
    return data


def save_student_form(client, student, **changes):
    url = f"/admin/students/student/{student.pk}/change/"
    page = client.get(url).content.decode()
    return client.post(url, form_post(page, "student_form", **changes))


def portrait(faces_dataset, name="BBT_Stuart"):
    return sorted((faces_dataset / "identities" / name).iterdir())[0].read_bytes()


# --- Consent ------------------------------------------------------------------------------


def test_filling_consent_given_by_on_the_student_form_records_consent_and_checks_the_photos(
    client, school, faces_dataset, eager_celery, django_capture_on_commit_callbacks
):
    stuart = make_student("S7", "Stuart Bloom")
    photo, _ = add_enrolment_photo(stuart, portrait(faces_dataset), source=FacePhoto.ADMIN)
    client.force_login(school.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = save_student_form(client, stuart, consent_given_by="Mary Bloom (mother)")
    assert response.status_code == 302, response.content.decode()[:3000]
    stuart.refresh_from_db()
    photo.refresh_from_db()
    assert stuart.has_consent and stuart.consent_recorded_by == school.admin
    assert stuart.consent_given_by == "Mary Bloom (mother)"
    assert photo.status == FacePhoto.ACCEPTED


def test_the_student_form_saves_without_consent_when_given_by_is_blank(client, school):
    client.force_login(school.admin)
    response = save_student_form(client, school.bob, full_name="Bob Babbage Jr", consent_given_by="")
    assert response.status_code == 302
    school.bob.refresh_from_db()
    assert (school.bob.full_name, school.bob.has_consent) == ("Bob Babbage Jr", False)


def test_the_student_form_refuses_to_blank_the_giver_of_recorded_consent(client, school):
    record_consent(Student.objects.filter(pk=school.bob.pk), school.admin, "Bob")
    client.force_login(school.admin)
    response = save_student_form(client, school.bob, consent_given_by="  ")
    assert response.status_code == 200
    assert "Clearing the name does not withdraw consent" in response.content.decode()
    school.bob.refresh_from_db()
    assert (school.bob.has_consent, school.bob.consent_given_by) == (True, "Bob")


def run_consent_action(client, students, **extra):
    return client.post(
        "/admin/students/student/",
        {
            "action": "record_consent",
            "_selected_action": [student.pk for student in students],
            **extra,
        },
    )


def test_the_consent_action_asks_who_gave_it_and_refuses_a_blank_name(client, school):
    client.force_login(school.admin)
    asked = run_consent_action(client, [school.bob, school.cyd])
    assert asked.status_code == 200
    page = asked.content.decode()
    assert "Consent given by" in page and "Bob Babbage" in page and "Cyd Charisse" in page
    blank = run_consent_action(client, [school.bob, school.cyd], given_by=" ", confirm="Record consent")
    assert blank.status_code == 200 and "This field is required." in blank.content.decode()
    assert not Student.objects.filter(consent_recorded_at__isnull=False).exists()

    done = run_consent_action(
        client, [school.bob, school.cyd], given_by="Signed forms, Sept 2026", confirm="Record consent"
    )
    assert done.status_code == 302
    recorded = Student.objects.filter(consent_recorded_at__isnull=False)
    assert set(recorded.values_list("full_name", "consent_given_by", "consent_recorded_by")) == {
        ("Bob Babbage", "Signed forms, Sept 2026", school.admin.pk),
        ("Cyd Charisse", "Signed forms, Sept 2026", school.admin.pk),
    }


def test_record_consent_refuses_a_blank_giver(school):
    with pytest.raises(ConsentWithoutGiver):
        record_consent(Student.objects.filter(pk=school.bob.pk), school.admin, "   ")
    school.bob.refresh_from_db()
    assert not school.bob.has_consent


# --- Adding a teacher ----------------------------------------------------------------------


def test_an_admin_adds_a_teacher_in_one_form_who_sets_a_password_from_the_e_mail(client, school):
    client.force_login(school.admin)
    assert client.get("/admin/students/course/").content.decode().count("/admin/students/course/add-teacher/") == 1
    response = client.post(
        "/admin/students/course/add-teacher/",
        {
            "full_name": "Penny Hofstadter",
            "email": "Penny@School.example",
            "courses": [school.course.pk, school.other_course.pk],
        },
    )
    assert response.status_code == 302
    penny = User.objects.get(email="penny@school.example")
    assert (penny.username, penny.first_name, penny.last_name) == ("penny@school.example", "Penny", "Hofstadter")
    assert not penny.has_usable_password()
    assert list(penny.groups.values_list("name", flat=True)) == ["Teacher"]
    assert set(penny.courses_taught.all()) == {school.course, school.other_course}

    [invitation] = mail.outbox
    assert invitation.to == ["penny@school.example"]
    assert "penny@school.example" in invitation.body and "MATH1 Course MATH1" in invitation.body
    link = next(word for word in invitation.body.split() if "/invitation/" in word)
    client.logout()
    form = client.get(link, follow=True)  # Django swaps the token for a session and redirects
    assert form.status_code == 200 and "new_password1" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": "a-long-Passphrase-9", "new_password2": "a-long-Passphrase-9"}
    )
    assert done.status_code == 302
    assert client.login(username="penny@school.example", password="a-long-Passphrase-9")
    assert client.get(f"/courses/{school.other_course.pk}/").status_code == 200


def test_adding_a_teacher_refuses_an_e_mail_that_has_a_login(client, school):
    make_user("leonard@school.example", email="leonard@school.example")
    client.force_login(school.admin)
    response = client.post(
        "/admin/students/course/add-teacher/", {"full_name": "Leonard H", "email": "LEONARD@school.example"}
    )
    assert response.status_code == 200 and "already exists" in response.content.decode()
    assert User.objects.filter(email__iexact="leonard@school.example").count() == 1
    assert mail.outbox == []


def test_when_the_invitation_cannot_be_sent_no_teacher_is_created(client, school, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens
    client.force_login(school.admin)
    response = client.post(
        "/admin/students/course/add-teacher/", {"full_name": "Amy Fowler", "email": "amy@school.example"}
    )
    assert response.status_code == 200 and "could not be sent" in response.content.decode()
    assert not User.objects.filter(email="amy@school.example").exists()


def test_only_a_school_admin_may_add_a_teacher(client, school):
    client.force_login(school.teacher)
    response = client.get("/admin/students/course/add-teacher/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


# --- Pickers ---------------------------------------------------------------------------------


class OptionTexts(HTMLParser):
    """The texts of the options of one select."""

    def __init__(self, select_name):
        super().__init__()
        self.select_name, self.inside, self.current, self.texts = select_name, False, None, []

    def handle_starttag(self, tag, attrs):
        if tag == "select":
            self.inside = dict(attrs).get("name") == self.select_name
        elif tag == "option" and self.inside:
            self.current = ""

    def handle_data(self, data):
        if self.current is not None:
            self.current += data

    def handle_endtag(self, tag):
        if tag == "option" and self.current is not None:
            self.texts.append(self.current.strip())
            self.current = None
        elif tag == "select":
            self.inside = False


def options(page, select_name):
    parser = OptionTexts(select_name)
    parser.feed(page)
    return parser.texts


def test_the_course_teacher_picker_lists_teachers_by_full_name_only(client, school):
    client.force_login(school.admin)
    page = client.get(f"/admin/students/course/{school.course.pk}/change/").content.decode()
    assert options(page, "teachers") == ["other_teacher", "Tess Teacher (teacher)"]


def test_the_student_login_picker_offers_no_teacher_or_admin(client, school):
    client.force_login(school.admin)
    found = client.get(
        "/admin/autocomplete/",
        {
            "term": "",
            "app_label": "students",
            "model_name": "student",
            "field_name": "user",
        },
    ).json()["results"]
    assert {result["text"] for result in found} == {"ada", "dan"}
    make_user("zoe", role="Student", first_name="Zoe", last_name="Zed")
    named = client.get(
        "/admin/autocomplete/",
        {
            "term": "Zed",
            "app_label": "students",
            "model_name": "student",
            "field_name": "user",
        },
    ).json()["results"]
    assert [result["text"] for result in named] == ["Zoe Zed (zoe)"]
    # Posted anyway, a teacher's login is refused.
    response = save_student_form(client, school.bob, user=str(school.teacher.pk))
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()


def test_a_student_is_put_into_courses_from_their_own_admin_page(client, school):
    art = school.other_course
    client.force_login(school.admin)
    page = client.get(f"/admin/students/student/{school.bob.pk}/change/").content.decode()
    assert options(page, "courses") == ["ART1 Course ART1", "MATH1 Course MATH1"]
    response = save_student_form(client, school.bob, courses=[str(art.pk)])
    assert response.status_code == 302
    assert list(school.bob.courses.all()) == [art]


# --- Error pages -------------------------------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True])
def test_another_course_and_a_missing_one_show_the_same_friendly_page(client, school, settings, debug):
    settings.DEBUG = debug
    client.force_login(school.teacher)
    others = client.get(f"/courses/{school.other_course.pk}/")
    missing = client.get("/courses/999999/")
    for response in (others, missing):
        page = unescape(response.content.decode())
        assert response.status_code == 404
        assert "You don't teach this course, or it does not exist." in page
        assert "URLconf" not in page and "DEBUG = True" not in page
        assert 'href="/static/rollcall.css"' in page

    # Nobody learns what exists: the pages differ only in the (masked, per response) CSRF token.
    def unmasked(response):
        return re.sub(r'name="csrfmiddlewaretoken" value="\w+"', "", response.content.decode())

    assert unmasked(others) == unmasked(missing)


@pytest.mark.parametrize("debug", [False, True])
def test_another_session_shows_the_friendly_page(client, school, settings, debug):
    settings.DEBUG = debug
    client.force_login(school.teacher)
    page = unescape(client.get(f"/sessions/{school.other_session.pk}/").content.decode())
    assert "You don't teach this session's course, or the session does not exist." in page
    assert "URLconf" not in page


def test_other_refusals_show_the_sites_404_and_403_pages_with_debug_on(client, school, settings):
    settings.DEBUG = True
    client.force_login(school.teacher)
    face_photo = client.get("/files/enrolment/999999/")
    assert (
        face_photo.status_code == 404
        and "This photo does not exist, or it is not yours to see." in face_photo.content.decode()
    )
    client.force_login(school.ada_user)
    assert "URLconf" not in client.get("/me/attendance/").content.decode()


def test_a_server_error_shows_the_sites_page_without_needing_the_database(rf, django_assert_num_queries):
    from django.views.defaults import server_error

    with django_assert_num_queries(0):
        response = server_error(rf.get("/courses/1/"))
    page = response.content.decode()
    assert response.status_code == 500 and "Something went wrong" in page and "/static/rollcall.css" in page


# --- Admin polish ----------------------------------------------------------------------------


def test_the_admin_is_branded_roll_call(client, school):
    client.force_login(school.admin)
    page = client.get("/admin/").content.decode()
    assert "Roll Call administration" in page and "Django administration" not in page


def test_distances_show_three_decimals_in_the_admin(client, school, private_media_root):
    record = AttendanceRecord.objects.create(
        session=school.session, student=school.ada, status="present", source="photo", match_distance=0.2529206871986389
    )
    capture = Capture.objects.create(session=school.session, image="captures/x.jpg", taken_at=school.session.starts_at)
    DetectedFace.objects.create(
        capture=capture, x1=0, y1=0, x2=10, y2=10, score=0.99, student=school.ada, distance=0.2529206871986389
    )
    client.force_login(school.admin)
    for url in [
        "/admin/students/attendancerecord/",
        f"/admin/students/attendancerecord/{record.pk}/change/",
        f"/admin/recognition/capture/{capture.pk}/change/",
    ]:
        page = client.get(url).content.decode()
        assert "0.253" in page and "0.2529" not in page, url


def test_photos_are_named_per_student_and_empty_rows_show_no_status(client, school):
    for seed in range(2):
        add_enrolment_photo(school.bob, photo_jpeg(seed=seed), source=FacePhoto.ADMIN)
    first = FacePhoto.objects.filter(student=school.bob).first()
    assert str(first).startswith("Enrolment photo of Bob Babbage, ")
    client.force_login(school.admin)
    page = client.get(f"/admin/students/student/{school.ada.pk}/change/").content.decode()
    assert "Pending" not in page  # Ada has no photos: only the empty rows for new ones


# --- The API reference --------------------------------------------------------------------------


def test_the_api_docs_are_swagger_ui_from_our_own_files_with_field_descriptions(client, school):
    client.force_login(school.teacher)
    page = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "<style>" not in page and "<script>" not in page and "https://" not in page
    script = client.get("/api/docs/?script=")
    assert script["Content-Type"].startswith("application/javascript") and "SwaggerUIBundle" in script.content.decode()
    schema = client.get("/api/schema/?format=json").json()
    roster = schema["components"]["schemas"]["RosterEntry"]["properties"]
    assert all(field.get("description") for name, field in roster.items() if name != "student"), roster
    capture = schema["components"]["schemas"]["Capture"]["properties"]
    assert all(field.get("description") for field in capture.values()), capture


# --- What the admin lists ----------------------------------------------------------------


def test_the_admin_lists_no_social_accounts_applications_or_tokens(client, school):
    client.force_login(school.admin)
    index = client.get("/admin/").content.decode()
    assert "Students" in index
    for unused in ("Social accounts", "Social applications", "Social application tokens"):
        assert unused not in index
    assert client.get("/admin/socialaccount/socialapp/").status_code == 404


def test_the_courses_admin_page_dates_each_students_place_and_a_new_one_starts_today(client, school):
    client.force_login(school.admin)
    url = f"/admin/students/course/{school.course.pk}/change/"
    page = client.get(url).content.decode()
    today = re.escape(formats.localize_input(timezone.localdate()))
    assert re.search(rf'name="memberships-__prefix__-starts_on" value="{today}"', page)
    data = form_post(page, "course_form", **{"memberships-0-ends_on": "2027-07-15"})
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    first = school.course.memberships.get(pk=data["memberships-0-id"][0])
    assert str(first.ends_on) == "2027-07-15" and first.starts_on is None
    assert school.course.memberships.filter(ends_on__isnull=True).count() == 2
