"""Every endpoint, every role: teachers reach their own courses, students their own records,
a device token its own room's or course's sessions; everything else is 403 or 404."""

import io
import json
import time
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from access.models import DeviceToken
from recognition.models import Capture, DetectedFace
from students.models import AttendanceChange, AttendanceRecord
from tests.web.school import device_token


def jpeg(name="class.jpg", size=(64, 48)):
    buffer = io.BytesIO()
    Image.new("RGB", size, (120, 140, 160)).save(buffer, format="JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def as_device(token):
    return {"HTTP_AUTHORIZATION": f"Token {token}"}


def ids(response):
    return sorted(item["id"] for item in response.json())


# --- GET /api/courses/ -------------------------------------------------------------------


def test_a_teacher_lists_only_the_courses_they_teach(client, school):
    client.force_login(school.teacher)
    assert ids(client.get("/api/courses/")) == [school.course.pk]


def test_an_admin_lists_every_course(client, school):
    client.force_login(school.admin)
    assert ids(client.get("/api/courses/")) == sorted([school.course.pk, school.other_course.pk])


def test_a_student_lists_no_course(client, school):
    client.force_login(school.ada_user)
    assert client.get("/api/courses/").json() == []


def test_a_course_device_lists_its_course_and_a_room_device_the_courses_held_in_its_room(client, school):
    _, course_token = device_token(course=school.course)
    _, room_token = device_token(room="r99")
    assert ids(client.get("/api/courses/", **as_device(course_token))) == [school.course.pk]
    assert ids(client.get("/api/courses/", **as_device(room_token))) == [school.other_course.pk]


def test_anonymous_and_bad_tokens_are_refused(client, school):
    assert client.get("/api/courses/").status_code in (401, 403)
    assert client.get("/api/courses/", **as_device("not-a-token")).status_code in (401, 403)


def test_a_revoked_token_is_refused_and_a_used_one_records_when(client, school):
    device, token = device_token(course=school.course)
    assert client.get("/api/courses/", **as_device(token)).status_code == 200
    device.refresh_from_db()
    assert device.last_used_at is not None
    device.revoked_at = timezone.now()
    device.save()
    response = client.get("/api/courses/", **as_device(token))
    assert response.status_code in (401, 403)
    assert "revoked" in response.json()["detail"]


def test_only_the_hash_of_a_token_is_stored(school):
    device, token = device_token(course=school.course)
    assert token not in device.token_hash
    assert not DeviceToken.objects.filter(token_hash=token).exists()


# --- /api/courses/{id}/sessions/ ---------------------------------------------------------


def test_a_teacher_lists_and_creates_sessions_of_their_course(client, school):
    client.force_login(school.teacher)
    url = f"/api/courses/{school.course.pk}/sessions/"
    assert ids(client.get(url)) == [school.session.pk]
    starts = timezone.now() + timedelta(days=1)
    response = client.post(
        url, {"starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=1)).isoformat(), "room": "R12"}
    )
    assert response.status_code == 201
    assert school.course.sessions.filter(pk=response.json()["id"], room__name="R12").exists()


def test_a_session_must_end_after_it_starts(client, school):
    client.force_login(school.teacher)
    starts = timezone.now()
    response = client.post(
        f"/api/courses/{school.course.pk}/sessions/", {"starts_at": starts.isoformat(), "ends_at": starts.isoformat()}
    )
    assert response.status_code == 400
    assert "ends_at" in response.json()


@pytest.mark.parametrize("who", ["other_teacher", "ada_user"])
def test_others_cannot_see_or_create_a_courses_sessions(client, school, who):
    client.force_login(getattr(school, who))
    url = f"/api/courses/{school.course.pk}/sessions/"
    starts = timezone.now()
    assert client.get(url).status_code == 404
    assert (
        client.post(
            url, {"starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=1)).isoformat()}
        ).status_code
        == 404
    )
    assert school.course.sessions.count() == 1


def test_a_device_lists_sessions_in_its_scope_but_cannot_create_one(client, school):
    _, token = device_token(room="R12")
    url = f"/api/courses/{school.course.pk}/sessions/"
    assert ids(client.get(url, **as_device(token))) == [school.session.pk]
    assert client.get(f"/api/courses/{school.other_course.pk}/sessions/", **as_device(token)).status_code == 404
    starts = timezone.now()
    response = client.post(
        url, {"starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=1)).isoformat()}, **as_device(token)
    )
    assert response.status_code == 403


# --- POST /api/sessions/{id}/captures/ and GET /api/captures/{id}/ -----------------------


def test_a_teacher_uploads_a_photo_and_gets_202_with_the_capture_url(client, school):
    client.force_login(school.teacher)
    response = client.post(f"/api/sessions/{school.session.pk}/captures/", {"image": jpeg()})
    assert response.status_code == 202
    body = response.json()
    capture = Capture.objects.get(pk=body["id"])
    assert body["url"].endswith(f"/api/captures/{capture.pk}/") and response["Location"] == body["url"]
    assert (capture.session, capture.uploaded_by, capture.source, capture.status) == (
        school.session,
        school.teacher,
        "photo",
        "queued",
    )


def test_a_device_uploads_to_its_rooms_session_as_a_camera(client, school):
    device, token = device_token(room="R12")
    taken = timezone.now().replace(microsecond=0) - timedelta(seconds=30)
    response = client.post(
        f"/api/sessions/{school.session.pk}/captures/",
        {"image": jpeg(), "taken_at": taken.isoformat()},
        **as_device(token),
    )
    assert response.status_code == 202
    capture = Capture.objects.get(pk=response.json()["id"])
    assert (capture.device, capture.source, capture.uploaded_by, capture.taken_at) == (device, "camera", None, taken)


def test_a_device_cannot_upload_outside_its_scope(client, school):
    _, room_token = device_token(room="R12")
    _, course_token = device_token(course=school.course)
    for token in (room_token, course_token):
        response = client.post(
            f"/api/sessions/{school.other_session.pk}/captures/", {"image": jpeg()}, **as_device(token)
        )
        assert response.status_code == 404
    assert not Capture.objects.exists()


@pytest.mark.parametrize("who", ["other_teacher", "ada_user"])
def test_others_cannot_upload_to_a_session(client, school, who):
    client.force_login(getattr(school, who))
    assert client.post(f"/api/sessions/{school.session.pk}/captures/", {"image": jpeg()}).status_code == 404
    assert not Capture.objects.exists()


def test_a_file_that_is_not_a_photo_is_refused_with_a_reason_and_nothing_stored(client, school, private_media_root):
    client.force_login(school.teacher)
    bogus = SimpleUploadedFile("notes.jpg", b"these are my lesson notes", content_type="image/jpeg")
    response = client.post(f"/api/sessions/{school.session.pk}/captures/", {"image": bogus})
    assert response.status_code == 400
    assert "JPEG, PNG or WebP" in response.json()["image"][0]
    assert not Capture.objects.exists()
    assert [path for path in private_media_root.rglob("*") if path.is_file()] == []


def done_capture(session, students):
    """A capture as the worker leaves it: one face recognised, one unknown."""
    capture = Capture.objects.create(
        session=session,
        image="captures/x.jpg",
        taken_at=timezone.now(),
        status=Capture.DONE,
        face_count=2,
        detect_ms=120.0,
        embed_ms=80.0,
        match_ms=1.5,
        total_ms=230.0,
    )
    DetectedFace.objects.create(
        capture=capture, x1=10, y1=12, x2=50, y2=60, score=0.99, student=students[0], distance=0.41
    )
    DetectedFace.objects.create(capture=capture, x1=70, y1=12, x2=110, y2=60, score=0.98, distance=None)
    return capture


def test_a_capture_reports_status_timings_and_faces(client, school):
    capture = done_capture(school.session, [school.ada])
    client.force_login(school.teacher)
    body = client.get(f"/api/captures/{capture.pk}/").json()
    assert body["status"] == "done" and body["error"] == ""
    assert body["timings"] == {"detect_ms": 120.0, "embed_ms": 80.0, "match_ms": 1.5, "total_ms": 230.0}
    known, unknown = body["faces"]
    assert known["box"] == [10, 12, 50, 60] and known["distance"] == 0.41
    assert known["student"] == {"id": school.ada.pk, "student_number": "S1", "full_name": "Ada Lovelace"}
    assert unknown["student"] is None and unknown["box"] == [70, 12, 110, 60]
    listed = client.get(f"/api/sessions/{school.session.pk}/captures/").json()
    assert [item["id"] for item in listed] == [capture.pk]


def test_a_failed_capture_says_why(client, school):
    capture = Capture.objects.create(
        session=school.session,
        image="captures/y.jpg",
        taken_at=timezone.now(),
        status=Capture.FAILED,
        error="The photo is damaged or was not uploaded completely.",
    )
    client.force_login(school.teacher)
    body = client.get(f"/api/captures/{capture.pk}/").json()
    assert (body["status"], body["error"]) == ("failed", "The photo is damaged or was not uploaded completely.")


def test_a_capture_is_hidden_from_others_and_from_devices_outside_its_scope(client, school):
    capture = done_capture(school.session, [school.ada])
    sender, in_scope = device_token(course=school.course)
    Capture.objects.filter(pk=capture.pk).update(device=sender)
    _, out_of_scope = device_token(room="R99")
    assert client.get(f"/api/captures/{capture.pk}/", **as_device(in_scope)).status_code == 200
    assert client.get(f"/api/captures/{capture.pk}/", **as_device(out_of_scope)).status_code == 404
    for user in (school.other_teacher, school.ada_user):
        client.force_login(user)
        assert client.get(f"/api/captures/{capture.pk}/").status_code == 404
        assert client.get(f"/api/sessions/{school.session.pk}/captures/").status_code == 404


# --- attendance -------------------------------------------------------------------------


def test_a_teacher_reads_the_roster_with_unseen_students_as_null(client, school):
    AttendanceRecord.objects.create(
        session=school.session, student=school.ada, status="present", source="photo", match_distance=0.4
    )
    client.force_login(school.teacher)
    roster = {
        entry["student"]["full_name"]: entry
        for entry in client.get(f"/api/sessions/{school.session.pk}/attendance/").json()
    }
    assert set(roster) == {"Ada Lovelace", "Bob Babbage", "Cyd Charisse"}
    assert (roster["Ada Lovelace"]["status"], roster["Ada Lovelace"]["source"]) == ("present", "photo")
    assert roster["Bob Babbage"]["status"] is None


def test_a_teacher_patches_a_status_with_a_reason_kept_in_the_audit_trail(client, school):
    client.force_login(school.teacher)
    response = client.patch(
        f"/api/sessions/{school.session.pk}/attendance/{school.bob.pk}/",
        json.dumps({"status": "excused", "reason": "Doctor's note"}),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["status"] == "excused" and response.json()["marked_by"] == "teacher"
    change = AttendanceChange.objects.get(record__student=school.bob)
    assert (change.new_status, change.reason, change.changed_by) == ("excused", "Doctor's note", school.teacher)


def test_an_unknown_status_is_refused(client, school):
    client.force_login(school.teacher)
    response = client.patch(
        f"/api/sessions/{school.session.pk}/attendance/{school.bob.pk}/",
        json.dumps({"status": "asleep"}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert not AttendanceRecord.objects.exists()


def test_a_student_of_another_course_cannot_be_patched_into_this_session(client, school):
    client.force_login(school.teacher)
    response = client.patch(
        f"/api/sessions/{school.session.pk}/attendance/{school.dan.pk}/",
        json.dumps({"status": "present"}),
        content_type="application/json",
    )
    assert response.status_code == 404


@pytest.mark.parametrize("who", ["other_teacher", "ada_user"])
def test_others_can_neither_read_nor_change_a_sessions_attendance(client, school, who):
    client.force_login(getattr(school, who))
    assert client.get(f"/api/sessions/{school.session.pk}/attendance/").status_code == 404
    response = client.patch(
        f"/api/sessions/{school.session.pk}/attendance/{school.ada.pk}/",
        json.dumps({"status": "present"}),
        content_type="application/json",
    )
    assert response.status_code == 404
    assert not AttendanceRecord.objects.exists()


def test_devices_can_neither_read_nor_change_attendance(client, school):
    _, token = device_token(course=school.course)
    assert client.get(f"/api/sessions/{school.session.pk}/attendance/", **as_device(token)).status_code == 403
    response = client.patch(
        f"/api/sessions/{school.session.pk}/attendance/{school.ada.pk}/",
        json.dumps({"status": "present"}),
        content_type="application/json",
        **as_device(token),
    )
    assert response.status_code == 403
    assert client.get("/api/me/attendance/", **as_device(token)).status_code == 403


# --- /api/me/attendance/ -----------------------------------------------------------------


def test_a_student_reads_only_their_own_attendance(client, school):
    held = school.session
    held.ends_at = timezone.now() - timedelta(minutes=1)
    held.save()
    AttendanceRecord.objects.create(
        session=held, student=school.ada, status="late", source="photo", first_seen_at=held.starts_at
    )
    AttendanceRecord.objects.create(session=held, student=school.bob, status="absent", source="manual")
    client.force_login(school.ada_user)
    (course,) = client.get("/api/me/attendance/").json()
    assert course["course"]["code"] == "MATH1" and course["percentage"] == 100.0
    assert [(s["session"], s["status"]) for s in course["sessions"]] == [(held.pk, "late")]


def test_a_login_that_is_not_a_student_has_no_own_attendance(client, school):
    client.force_login(school.teacher)
    assert client.get("/api/me/attendance/").status_code == 404


# --- schema and docs --------------------------------------------------------------------


def test_the_openapi_schema_and_its_docs_page_list_every_endpoint(client, school):
    client.force_login(school.teacher)
    schema = client.get("/api/schema/?format=json").json()
    assert schema["openapi"].startswith("3.")
    expected = {
        "/api/courses/",
        "/api/courses/{id}/sessions/",
        "/api/sessions/{id}/captures/",
        "/api/captures/{id}/",
        "/api/sessions/{id}/attendance/",
        "/api/sessions/{id}/attendance/{student_pk}/",
        "/api/me/attendance/",
    }
    assert expected <= set(schema["paths"])
    # The docs page is Swagger UI reading that same schema (its start-up script names it).
    assert client.get("/api/docs/").status_code == 200
    assert '"/api/schema/"' in client.get("/api/docs/?script=").content.decode()


def test_uploads_past_the_rate_limit_are_refused_with_429(client, school, settings):
    settings.UPLOAD_RATE_LIMIT = 2
    _, token = device_token(room="R12")
    # The limit counts per clock minute: start early in one, so that the three uploads share it
    # even on a loaded machine (the test failed when they straddled a minute's end).
    if time.time() % 60 > 40:
        time.sleep(60 - time.time() % 60)
    answers = [
        client.post(f"/api/sessions/{school.session.pk}/captures/", {"image": jpeg()}, **as_device(token)).status_code
        for _ in range(3)
    ]
    assert answers == [202, 202, 429]
    assert Capture.objects.count() == 2
