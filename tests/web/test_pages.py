"""The teacher and student pages: what each role sees, what each form changes, and that
everybody else gets a 404 (or the login page when not logged in)."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from recognition.models import Capture, DetectedFace, FacePhoto
from recognition.people import join_session_people
from students.consent import record_consent
from students.models import AttendanceChange, AttendanceRecord, Student
from students.overview import attendance_percentage
from tests.factories import make_session


def jpeg_bytes(size=(120, 90)):
    buffer = io.BytesIO()
    Image.new("RGB", size, (90, 110, 130)).save(buffer, format="JPEG")
    return buffer.getvalue()


def held(session, minutes_ago=60):
    """Move a session into the past so that it counts as held."""
    session.starts_at = timezone.now() - timedelta(minutes=minutes_ago + 60)
    session.ends_at = timezone.now() - timedelta(minutes=minutes_ago)
    session.save()
    return session


def test_the_percentage_counts_present_and_late_over_sessions_held_less_excused():
    # A session nobody took, or one outside the student's membership, counts neither way.
    assert attendance_percentage(["present", "late", "absent", "absent", "not_taken", "not_enrolled"]) == 50.0
    assert attendance_percentage(["present", "excused", "absent"]) == 50.0
    assert attendance_percentage(["excused"]) is None
    assert attendance_percentage([]) is None


def test_the_login_page_logs_a_teacher_in_to_their_courses_and_todays_sessions(client, school):
    response = client.post("/login/", {"username": "teacher", "password": "pw-teacher"}, follow=True)
    page = response.content.decode()
    assert "MATH1" in page and "ART1" not in page
    assert "Today's sessions" in page and f"/sessions/{school.session.pk}/" in page


@pytest.mark.parametrize("url", ["/", "/courses/1/", "/sessions/1/", "/me/attendance/", "/api/docs/"])
def test_pages_send_anonymous_visitors_to_the_login_page(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_course_page_shows_the_grid_percentages_and_who_is_below_the_threshold(client, school, settings):
    settings.ATTENDANCE_THRESHOLD_PERCENT = 80
    first = held(school.session, minutes_ago=120)
    second = held(make_session(school.course), minutes_ago=30)
    for session, student, status in [
        (first, school.ada, "present"),
        (second, school.ada, "late"),
        (first, school.bob, "present"),
        (second, school.bob, "absent"),
        (first, school.cyd, "excused"),
        (second, school.cyd, "present"),
    ]:
        AttendanceRecord.objects.create(session=session, student=student, status=status, source="manual")
    client.force_login(school.teacher)
    response = client.get(f"/courses/{school.course.pk}/")
    rows = {row.student.full_name: row for row in response.context["rows"]}
    assert {name: row.percentage for name, row in rows.items()} == {
        "Ada Lovelace": 100.0,
        "Bob Babbage": 50.0,
        "Cyd Charisse": 100.0,
    }
    assert [row.student.full_name for row in response.context["below_threshold"]] == ["Bob Babbage"]
    assert "Below 80% attendance" in response.content.decode()

    download = client.get(f"/courses/{school.course.pk}/attendance.csv").content.decode("utf-8-sig")
    exported = list(csv.reader(io.StringIO(download)))
    assert exported[0][:2] == ["student number", "student"] and exported[0][-1] == "attendance %"
    assert exported[1] == ["S1", "Ada Lovelace", "present", "late", "100.0"]
    assert exported[2] == ["S2", "Bob Babbage", "present", "absent", "50.0"]


def test_a_teacher_creates_a_session_from_the_course_page(client, school):
    client.force_login(school.teacher)
    response = client.post(
        f"/courses/{school.course.pk}/",
        {
            "starts_at": "2030-03-04T09:00",
            "ends_at": "2030-03-04T10:00",
            "room": school.session.room.pk,
            "late_after_minutes": 5,
        },
    )
    session = school.course.sessions.get(room__name="R12", late_after_minutes=5)
    assert response.status_code == 302 and response["Location"] == f"/sessions/{session.pk}/"
    assert timezone.localtime(session.starts_at).hour == 9


def test_a_session_that_ends_before_it_starts_is_refused_with_a_reason(client, school):
    client.force_login(school.teacher)
    response = client.post(
        f"/courses/{school.course.pk}/",
        {
            "starts_at": "2030-03-04T10:00",
            "ends_at": "2030-03-04T09:00",
            "late_after_minutes": 5,
        },
    )
    assert response.status_code == 200
    assert "The session must end after it starts." in response.content.decode()
    assert school.course.sessions.count() == 1


@pytest.mark.parametrize("who", ["other_teacher", "ada_user"])
def test_course_and_session_pages_are_404_for_everybody_else(client, school, who):
    client.force_login(getattr(school, who))
    for url in [
        f"/courses/{school.course.pk}/",
        f"/courses/{school.course.pk}/attendance.csv",
        f"/sessions/{school.session.pk}/",
    ]:
        assert client.get(url).status_code == 404, url
    for url in [
        f"/sessions/{school.session.pk}/close/",
        f"/sessions/{school.session.pk}/students/{school.ada.pk}/status/",
    ]:
        assert client.post(url, {"status": "absent"}).status_code == 404, url
    assert not AttendanceRecord.objects.exists() and school.session.closed_at is None


def test_the_session_page_shows_the_roster_and_how_each_status_was_decided(client, school):
    AttendanceRecord.objects.create(
        session=school.session,
        student=school.ada,
        status="present",
        source="photo",
        match_distance=0.42,
        first_seen_at=school.session.starts_at,
    )
    client.force_login(school.teacher)
    page = client.get(f"/sessions/{school.session.pk}/").content.decode()
    assert "Recognised in a class photo (distance 0.42)" in page
    assert page.count("Not seen yet") == 2


def test_a_teacher_changes_a_status_with_a_reason(client, school):
    client.force_login(school.teacher)
    response = client.post(
        f"/sessions/{school.session.pk}/students/{school.bob.pk}/status/",
        {"status": "excused", "reason": "Dentist"},
        follow=True,
    )
    record = AttendanceRecord.objects.get(session=school.session, student=school.bob)
    assert (record.status, record.source, record.marked_by) == ("excused", "manual", school.teacher)
    assert AttendanceChange.objects.get(record=record).reason == "Dentist"
    assert "Set by Tess Teacher: “Dentist”" in response.content.decode()


def test_closing_a_session_marks_everyone_unseen_absent(client, school):
    AttendanceRecord.objects.create(session=school.session, student=school.ada, status="present", source="photo")
    client.force_login(school.teacher)
    response = client.post(f"/sessions/{school.session.pk}/close/", {"confirm": "yes"}, follow=True)
    statuses = dict(AttendanceRecord.objects.filter(session=school.session).values_list("student__full_name", "status"))
    assert statuses == {"Ada Lovelace": "present", "Bob Babbage": "absent", "Cyd Charisse": "absent"}
    assert "2 students not seen were marked absent" in response.content.decode()


def capture_with_faces(session, students, private_media_root):
    capture = Capture(
        session=session, taken_at=session.starts_at + timedelta(minutes=20), status=Capture.DONE, width=400, height=300
    )
    capture.image.save("class.jpg", ContentFile(jpeg_bytes((400, 300))), save=False)
    capture.save()
    known = DetectedFace(capture=capture, x1=20, y1=30, x2=90, y2=110, score=0.99, student=students[0], distance=0.4)
    unknown = DetectedFace(capture=capture, x1=200, y1=40, x2=270, y2=120, score=0.98)
    unknown.crop.save("face.jpg", ContentFile(jpeg_bytes((80, 80))), save=False)
    known.save()
    unknown.save()
    join_session_people(capture, [known, unknown], "dlib_resnet_v1_flip")
    return capture, unknown


def test_a_done_capture_is_drawn_with_a_box_and_a_name_on_every_face(client, school, private_media_root):
    capture, unknown = capture_with_faces(school.session, [school.ada], private_media_root)
    client.force_login(school.teacher)
    page = client.get(f"/sessions/{school.session.pk}/").content.decode()
    # Drawn 1000 units wide: the 400 x 300 photo's boxes scaled by 2.5.
    assert f'<image href="/files/captures/{capture.pk}/" width="1000" height="750"/>' in page
    assert 'points="50,75 225,75 225,275 50,275"' in page and '<span class="label">Ada Lovelace</span>' in page
    assert (
        'class="box unknown" points="500,100 675,100 675,300 500,300"' in page
        and '<span class="label">Unknown</span>' in page
    )
    assert f"/faces/{unknown.pk}/assign/" in page


def test_assigning_an_unknown_face_marks_the_student_and_can_enrol_the_crop(client, school, private_media_root):
    capture, unknown = capture_with_faces(school.session, [school.ada], private_media_root)
    record_consent(Student.objects.filter(pk=school.bob.pk), school.admin, "Bob")
    client.force_login(school.teacher)
    client.post(f"/faces/{unknown.pk}/assign/", {"student": school.bob.pk, "add_to_enrolment": "1"})
    unknown.refresh_from_db()
    assert (unknown.student, unknown.decided_by, unknown.decided_by_user) == (school.bob, "person", school.teacher)
    record = AttendanceRecord.objects.get(session=school.session, student=school.bob)
    # Seen 20 minutes in, after the 10-minute late mark: late, decided by the teacher.
    assert (record.status, record.source, record.first_seen_at) == ("late", "face", capture.taken_at)
    photo = FacePhoto.objects.get(student=school.bob)
    with photo.image.open("rb") as stored, unknown.crop.open("rb") as crop:
        assert stored.read() == crop.read()


def test_a_face_is_not_added_to_enrolment_photos_without_consent(client, school, private_media_root):
    _, unknown = capture_with_faces(school.session, [school.ada], private_media_root)
    client.force_login(school.teacher)
    response = client.post(
        f"/faces/{unknown.pk}/assign/", {"student": school.bob.pk, "add_to_enrolment": "1"}, follow=True
    )
    assert "No consent for face photos is recorded for Bob Babbage" in response.content.decode()
    unknown.refresh_from_db()
    assert unknown.student is None
    assert not FacePhoto.objects.exists() and not AttendanceRecord.objects.exists()


def test_faces_cannot_be_assigned_by_others_or_to_students_of_another_course(client, school, private_media_root):
    _, unknown = capture_with_faces(school.session, [school.ada], private_media_root)
    client.force_login(school.teacher)
    assert client.post(f"/faces/{unknown.pk}/assign/", {"student": school.dan.pk}).status_code == 404
    client.force_login(school.other_teacher)
    assert client.post(f"/faces/{unknown.pk}/assign/", {"student": school.bob.pk}).status_code == 404
    unknown.refresh_from_db()
    assert unknown.student is None


def test_a_student_sees_their_own_history_and_nobody_elses(client, school):
    session = held(school.session)
    AttendanceRecord.objects.create(
        session=session,
        student=school.ada,
        status="late",
        source="photo",
        first_seen_at=session.starts_at + timedelta(minutes=12, seconds=5),
    )
    AttendanceRecord.objects.create(session=session, student=school.bob, status="absent", source="manual")
    client.force_login(school.ada_user)
    response = client.get("/me/attendance/")
    page = response.content.decode()
    assert "MATH1" in page and "100.0%" in page and "Late" in page
    assert timezone.localtime(session.starts_at + timedelta(minutes=12, seconds=5)).strftime("%H:%M:%S") in page
    assert "Bob" not in page and "ART1" not in page


def test_a_login_that_is_not_a_student_has_no_attendance_page(client, school):
    client.force_login(school.teacher)
    assert client.get("/me/attendance/").status_code == 404


def test_capture_images_and_face_crops_are_only_for_the_courses_teachers(client, school, private_media_root):
    capture, unknown = capture_with_faces(school.session, [school.ada], private_media_root)
    client.force_login(school.teacher)
    assert client.get(f"/files/captures/{capture.pk}/").status_code == 200
    for user in (school.other_teacher, school.ada_user):
        client.force_login(user)
        assert client.get(f"/files/captures/{capture.pk}/").status_code == 404
        assert client.get(f"/files/faces/{unknown.pk}/").status_code == 404


def test_a_failed_capture_can_be_tried_again_by_its_teacher_only(client, school, private_media_root):
    capture = Capture(
        session=school.session, taken_at=timezone.now(), status=Capture.FAILED, error="Recognition failed: boom."
    )
    capture.image.save("class.jpg", ContentFile(jpeg_bytes()), save=False)
    capture.save()
    client.force_login(school.other_teacher)
    assert client.post(f"/captures/{capture.pk}/retry/").status_code == 404
    client.force_login(school.teacher)
    assert f"/captures/{capture.pk}/retry/" in client.get(f"/sessions/{school.session.pk}/").content.decode()
    client.post(f"/captures/{capture.pk}/retry/")
    capture.refresh_from_db()
    assert (capture.status, capture.error) == ("queued", "")
