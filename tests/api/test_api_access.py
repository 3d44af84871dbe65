"""Who may read what over the API: the schema needs a login, a wrong or revoked token is 401
with the scheme to use, a known caller without the right 403, and a device reads only the
captures it sent."""

import pytest
from django.utils import timezone

from recognition.models import Capture, DetectedFace
from tests.web.school import (
    device_token,
    school,  # noqa: F401 - a fixture
)

pytestmark = pytest.mark.django_db


def as_device(token):
    return {"HTTP_AUTHORIZATION": f"Token {token}"}


def test_the_schema_needs_a_login_like_its_docs_page(client, school):
    _, token = device_token(course=school.course)
    assert client.get("/api/schema/").status_code == 401
    assert client.get("/api/schema/", **as_device(token)).status_code == 403
    assert client.get("/api/docs/").status_code == 302
    client.force_login(school.ada_user)
    assert client.get("/api/schema/").status_code == 200 and client.get("/api/docs/").status_code == 200


def test_a_wrong_or_revoked_token_is_answered_401_with_the_scheme_to_use(client, school):
    device, token = device_token(course=school.course)
    wrong = client.get("/api/courses/", **as_device("rollcall_not-a-token"))
    assert (wrong.status_code, wrong["WWW-Authenticate"]) == (401, "Token")
    device.revoked_at = timezone.now()
    device.save()
    revoked = client.get("/api/courses/", **as_device(token))
    assert (revoked.status_code, revoked["WWW-Authenticate"]) == (401, "Token")
    assert "revoked" in revoked.json()["detail"]


def test_anonymous_callers_are_401_and_known_callers_without_the_right_403(client, school):
    anonymous = client.get("/api/courses/")
    assert (anonymous.status_code, anonymous["WWW-Authenticate"]) == (401, "Token")
    _, token = device_token(course=school.course)
    refused = client.get(f"/api/sessions/{school.session.pk}/attendance/", **as_device(token))
    assert refused.status_code == 403 and "WWW-Authenticate" not in refused


def test_a_logged_in_teacher_is_not_refused_for_a_token_header_it_does_not_send(client, school):
    client.force_login(school.teacher)
    assert client.get("/api/courses/").status_code == 200


def capture_with_a_recognised_face(session, student, device=None):
    capture = Capture.objects.create(
        session=session,
        image="captures/x.jpg",
        taken_at=timezone.now(),
        status=Capture.DONE,
        device=device,
        face_count=1,
    )
    DetectedFace.objects.create(capture=capture, x1=1, y1=1, x2=40, y2=40, score=0.99, student=student, distance=0.3)
    return capture


def test_a_device_reads_only_the_captures_it_sent(client, school):
    camera, camera_token = device_token(room="R12")
    _, other_token = device_token(name="Second camera", room="R12")
    sent = capture_with_a_recognised_face(school.session, school.ada, device=camera)
    teachers = capture_with_a_recognised_face(school.session, school.bob)

    listed = client.get(f"/api/sessions/{school.session.pk}/captures/", **as_device(camera_token)).json()
    assert [item["id"] for item in listed] == [sent.pk]
    assert client.get(f"/api/captures/{sent.pk}/", **as_device(camera_token)).status_code == 200
    assert client.get(f"/api/captures/{teachers.pk}/", **as_device(camera_token)).status_code == 404
    assert client.get(f"/api/sessions/{school.session.pk}/captures/", **as_device(other_token)).json() == []
    assert client.get(f"/api/captures/{sent.pk}/", **as_device(other_token)).status_code == 404

    client.force_login(school.teacher)
    listed = client.get(f"/api/sessions/{school.session.pk}/captures/").json()
    assert sorted(item["id"] for item in listed) == sorted([sent.pk, teachers.pk])
