"""A room's camera sends snapshots to POST /api/captures/ without a session id: the server picks
the session on in the device's room (and course) now, from an hour before its start to its end,
never a cancelled or closed one; with none on it answers 409 naming the next session. Over the
real API with the device token, and the camera client against a live server."""

from datetime import datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from recognition.camera_client import CameraClient, run_camera
from recognition.captures import TAKEN_BEFORE_START
from recognition.models import Capture
from students.models import ClassSession
from students.timetable import set_cancelled
from tests.api.test_api import as_device, jpeg
from tests.factories import make_course, make_room, make_session
from tests.helpers import photo_jpeg
from tests.web.school import device_token
from tests.web.test_camera_client import write_video

pytestmark = pytest.mark.django_db

URL = "/api/captures/"


@pytest.fixture(autouse=True)
def london(settings):
    settings.TIME_ZONE = "Europe/London"


def session_in(course, room, starts_at, minutes=60):
    return make_session(course, starts_at=starts_at, minutes=minutes, room=room)


def session_laid_over_another_in(course, room, starts_at, minutes=60):
    """A session at the same time as another in its room, as one made before rooms were the
    school's and checked (students/schedule.py) may be: no route makes one now."""
    [session] = ClassSession.objects.bulk_create(
        [
            ClassSession(
                course=course, room=make_room(room), starts_at=starts_at, ends_at=starts_at + timedelta(minutes=minutes)
            )
        ]
    )
    return session


def send(client, token, **data):
    return client.post(URL, {"image": jpeg(), **data}, **as_device(token))


def test_a_room_camera_sends_to_the_session_on_in_its_room(client, school):
    _, token = device_token(room="r12")  # rooms match whatever their case
    response = send(client, token)
    assert response.status_code == 202, response.json()
    capture = Capture.objects.get(pk=response.json()["id"])
    assert (capture.session, capture.source) == (school.session, "camera")
    assert response.json()["session"] == school.session.pk


def test_a_snapshot_before_the_bell_goes_to_the_session_about_to_start(client, school):
    soon = session_in(school.course, "Room 12", timezone.now() + TAKEN_BEFORE_START - timedelta(minutes=5))
    _, token = device_token(room="Room 12")
    response = send(client, token)
    assert response.status_code == 202, response.json()
    assert response.json()["session"] == soon.pk


def test_the_session_in_progress_wins_over_the_next_one_in_the_room(client, school):
    now = timezone.now().replace(microsecond=0)
    on = session_in(school.course, "Room 12", now - timedelta(minutes=58))
    following = session_in(school.other_course, "Room 12", now + timedelta(minutes=2))
    _, token = device_token(room="Room 12")
    assert send(client, token).json()["session"] == on.pk
    # Once the first has ended, the next one takes the snapshots.
    assert send(client, token, taken_at=(now + timedelta(minutes=3)).isoformat()).json()["session"] == following.pk


def test_no_session_on_is_refused_with_409_naming_the_room_and_the_next_session(client, school):
    next_tuesday = timezone.make_aware(datetime(2027, 1, 5, 9, 0))
    session_in(school.course, "Room 12", next_tuesday)
    session_in(school.course, "Room 12", next_tuesday + timedelta(days=1))
    session_in(school.other_course, "Room 7", timezone.now())  # on, but in another room
    _, token = device_token(room="Room 12")
    response = send(client, token)
    assert response.status_code == 409
    assert response.json() == {"detail": "No session is on in Room 12 now; the next is MATH1 on Tue 5 Jan at 09:00."}
    assert not Capture.objects.filter(device__room__name="Room 12").exists()


def test_the_message_names_the_room_for_a_course_camera_and_says_when_nothing_is_timetabled(client, school):
    _, course_token = device_token(course=school.other_course)
    school.other_session.delete()
    assert send(client, course_token).json() == {"detail": "No session of ART1 is on now, and none is timetabled."}
    session_in(school.other_course, "Studio", timezone.make_aware(datetime(2027, 1, 6, 14, 30)))
    assert send(client, course_token).json() == {
        "detail": "No session of ART1 is on now; the next is on Wed 6 Jan at 14:30 in Studio."
    }


@pytest.mark.parametrize("how", ["cancelled", "closed"])
def test_a_cancelled_or_closed_session_is_not_on(client, school, how):
    if how == "cancelled":
        set_cancelled(school.session, True)
    else:
        ClassSession.objects.filter(pk=school.session.pk).update(closed_at=timezone.now())
    _, token = device_token(room="R12")
    response = send(client, token)
    assert response.status_code == 409
    assert response.json()["detail"] == "No session is on in R12 now, and none is timetabled."


def test_no_route_takes_a_photo_of_a_cancelled_session(client, school):
    set_cancelled(school.session, True)
    _, token = device_token(room="R12")
    url = f"/api/sessions/{school.session.pk}/captures/"
    refused = client.post(url, {"image": jpeg()}, **as_device(token))
    assert refused.status_code == 409
    assert refused.json()["detail"].endswith("was cancelled: restore it on the course page to take its attendance.")
    client.force_login(school.teacher)
    assert client.post(url, {"image": jpeg()}).status_code == 409
    assert not Capture.objects.exists()


def test_a_device_scoped_to_a_course_and_room_only_takes_that_courses_session(client, school):
    session_laid_over_another_in(school.other_course, "R12", timezone.now() - timedelta(minutes=5))  # ART1 too
    _, token = device_token(course=school.course, room="R12")
    assert send(client, token).json()["session"] == school.session.pk


def test_two_courses_on_at_once_in_one_room_are_refused_rather_than_guessed(client, school):
    clash = session_laid_over_another_in(school.other_course, "R12", timezone.now() - timedelta(minutes=5))
    _, token = device_token(room="R12")
    response = send(client, token)
    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"2 sessions are on in R12 at once: MATH1 (session {school.session.pk}), ART1 (session {clash.pk}). "
        "No snapshot goes to either, so that no course gets another's photos. An admin should move one of them "
        "to another room (or bind the device to a course); meanwhile send to one with /api/sessions/<id>/captures/."
    )
    assert not Capture.objects.exists()


def test_the_route_goes_through_create_captures_checks(client, school):
    _, token = device_token(room="R12")
    not_a_photo = SimpleUploadedFile("class.jpg", b"hello, I am text", content_type="image/jpeg")
    refused = client.post(URL, {"image": not_a_photo}, **as_device(token))
    assert refused.status_code == 400 and "image" in refused.json()
    # A minute before the window create_capture allows opens, no session is on yet.
    early = school.session.starts_at - TAKEN_BEFORE_START - timedelta(minutes=1)
    assert send(client, token, taken_at=early.isoformat()).status_code == 409
    assert send(client, token, taken_at=(early + timedelta(minutes=2)).isoformat()).status_code == 202
    assert Capture.objects.count() == 1


def test_people_are_sent_to_the_session_route(client, school):
    client.force_login(school.teacher)
    response = client.post(URL, {"image": jpeg()})
    assert response.status_code == 403
    assert "/api/sessions/<id>/captures/" in response.json()["detail"]
    assert client.post(URL, {"image": jpeg()}, HTTP_AUTHORIZATION="Token wrong").status_code == 401
    assert not Capture.objects.exists()


# --- the camera client, without --session ------------------------------------------------


@pytest.fixture
def room_video(tmp_path):
    (tmp_path / "class.jpg").write_bytes(photo_jpeg())
    return write_video(tmp_path / "class.avi", tmp_path / "class.jpg", frames=2)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_camera_without_a_session_sends_to_the_rooms_session(live_server, room_video, eager_celery, capsys):
    course = make_course("PHYS1")
    session = session_in(course, "Lab 3", timezone.now() - timedelta(minutes=5))
    device, token = device_token(room="Lab 3")
    call_command("camera", server=live_server.url, token=token, source=str(room_video), interval=1)
    assert Capture.objects.filter(session=session, device=device, status="done").count() == 2
    out = capsys.readouterr().out
    assert out.count("no face found") == 2 and "Stopped after 2 snapshot(s)." in out


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_camera_outside_any_session_says_what_is_next_and_carries_on(live_server, room_video):
    course = make_course("PHYS1")
    session_in(course, "Lab 3", timezone.make_aware(datetime(2027, 1, 5, 9, 0)))
    _, token = device_token(room="Lab 3")
    lines = []
    client = CameraClient(live_server.url, token, out=lines.append)
    assert run_camera(client, str(room_video), interval=1) == 2
    refusal = "The server refused the snapshot: No session is on in Lab 3 now; the next is PHYS1 on Tue 5 Jan at 09:00."
    assert lines[0].startswith(f"Video source {room_video}: snapshots of 320 x 240 pixels.")  # said once
    assert lines[1:] == [refusal] * 2
    assert not Capture.objects.exists()
