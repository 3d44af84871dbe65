"""Rooms are the school's, sessions have a sane length, and a room holds one session at a time,
so that no teacher can take over another room's camera: the takeover of the security report
(a teacher of another course makes a session in "r99" from 2020 to 2099) is refused on every
route that makes or moves a session, and the room's camera keeps sending its snapshots to the
lesson on in the room. Free-text rooms of earlier versions become Rooms, merged without case."""

from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from recognition.models import Capture
from students.models import ClassSession, Room, SessionSeries
from students.timetable import set_cancelled
from tests.api.test_api import as_device, jpeg
from tests.factories import make_room, make_session
from tests.web.school import device_token

pytestmark = pytest.mark.django_db

LONG_AGO, FAR_AHEAD = "2020-01-01T00:00", "2099-12-31T23:00"


def local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def session_form(room, starts_at, ends_at):
    return {"starts_at": starts_at, "ends_at": ends_at, "room": room.pk, "late_after_minutes": 10}


def api_session(room, starts_at, ends_at):
    return {"starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat(), "room": room.name.lower()}


@pytest.fixture
def intruder(client, school):
    """The other course's teacher, logged in: he teaches ART1, whose lessons are in R99."""
    client.force_login(school.other_teacher)
    return school.other_teacher


def test_a_session_spanning_years_is_refused_on_the_page_and_the_api(client, school, intruder):
    room = school.session.room
    page = client.post(f"/courses/{school.other_course.pk}/", session_form(room, LONG_AGO, FAR_AHEAD))
    assert page.status_code == 200
    assert "A session lasts at most 12 hours (MAX_SESSION_HOURS); this one lasts" in page.content.decode()

    starts = timezone.now() + timedelta(days=1)
    api = client.post(
        f"/api/courses/{school.other_course.pk}/sessions/",
        api_session(room, starts, starts + timedelta(hours=13)),
        content_type="application/json",
    )
    assert api.status_code == 400 and "at most 12 hours" in api.json()["ends_at"][0]
    assert not school.other_course.sessions.filter(room=room).exists()


def test_a_room_already_taken_then_is_refused_on_every_route(client, school, intruder):
    lesson, room = school.session, school.session.room
    overlap = (lesson.starts_at + timedelta(minutes=30), lesson.ends_at + timedelta(minutes=30))
    says = f"R12 is taken then by another session (MATH1, {timezone.localtime(lesson.starts_at):%a}"

    page = client.post(f"/courses/{school.other_course.pk}/", session_form(room, *map(local, overlap)))
    assert page.status_code == 200 and says in page.content.decode()

    api = client.post(
        f"/api/courses/{school.other_course.pk}/sessions/", api_session(room, *overlap), content_type="application/json"
    )
    assert api.status_code == 400 and api.json()["room"][0].startswith(says)

    # Moving his own lesson (in R99) into R12 at that time.
    moved = client.post(f"/sessions/{school.other_session.pk}/edit/", session_form(room, *map(local, overlap)))
    assert moved.status_code == 200 and says in moved.content.decode()
    school.other_session.refresh_from_db()
    assert school.other_session.room.name == "R99"

    assert list(ClassSession.objects.filter(room=room)) == [lesson]


def test_a_weekly_timetable_that_lands_on_a_taken_room_is_refused_whole(client, school, intruder):
    monday = timezone.localdate() + timedelta(days=7 - timezone.localdate().weekday())
    make_session(school.course, timezone.make_aware(datetime.combine(monday, time(9))), room="R12")
    series = {
        "weekdays": [0],
        "start_time": "09:30",
        "end_time": "10:30",
        "room": make_room("R12").pk,
        "late_after_minutes": 10,
        "first_date": monday.isoformat(),
        "last_date": (monday + timedelta(weeks=3)).isoformat(),
        "skip_dates": "",
    }
    response = client.post(f"/courses/{school.other_course.pk}/timetable/", series)
    assert response.status_code == 200
    assert f"R12 is taken by another session at these times on {monday:%a} {monday.day} {monday:%b %Y}." in (
        response.content.decode()
    )
    assert not SessionSeries.objects.exists() and not school.other_course.sessions.filter(room__name="R12").exists()

    too_long = client.post(
        f"/courses/{school.other_course.pk}/timetable/", {**series, "start_time": "06:00", "end_time": "19:00"}
    )
    assert too_long.status_code == 200 and "at most 12 hours" in too_long.content.decode()


def test_the_admin_refuses_a_session_over_another_in_its_room(client, school):
    client.force_login(school.admin)
    lesson = school.session
    start = timezone.localtime(lesson.starts_at)
    response = client.post(
        "/admin/students/classsession/add/",
        {
            "course": school.other_course.pk,
            "starts_at_0": start.strftime("%Y-%m-%d"),
            "starts_at_1": start.strftime("%H:%M:%S"),
            "ends_at_0": start.strftime("%Y-%m-%d"),
            "ends_at_1": (start + timedelta(minutes=20)).strftime("%H:%M:%S"),
            "room": lesson.room.pk,
            "late_after_minutes": 10,
        },
    )
    assert response.status_code == 200 and "R12 is taken then by another session" in response.content.decode()
    assert ClassSession.objects.filter(room=lesson.room).count() == 1


def test_the_rooms_camera_keeps_its_lesson_and_a_later_session_there_takes_only_its_own_time(client, school, intruder):
    room = school.session.room
    # A session of his own in R12 after the lesson: the room is free then, so it is his.
    after = school.session.ends_at + timedelta(minutes=1)  # the form has no seconds
    later = client.post(
        f"/courses/{school.other_course.pk}/", session_form(room, local(after), local(after + timedelta(hours=1)))
    )
    assert later.status_code == 302
    _, camera = device_token(room="R12")

    during_the_lesson = client.post("/api/captures/", {"image": jpeg()}, **as_device(camera))
    assert during_the_lesson.status_code == 202, during_the_lesson.json()
    capture = Capture.objects.get(pk=during_the_lesson.json()["id"])
    assert capture.session == school.session
    # Nothing of MATH1's reaches the other course's teacher.
    assert client.get(f"/api/captures/{capture.pk}/").status_code == 404
    assert client.get(f"/files/captures/{capture.pk}/").status_code == 404


def test_a_cancelled_lesson_frees_its_room_and_is_not_restored_over_the_session_made_there(client, school):
    lesson = school.session
    set_cancelled(lesson, True)
    ClassSession.objects.create(
        course=school.other_course, starts_at=lesson.starts_at, ends_at=lesson.ends_at, room=lesson.room
    )
    client.force_login(school.teacher)
    response = client.post(f"/sessions/{lesson.pk}/cancelled/", {"cancelled": "0"}, follow=True)
    assert "was not restored: R12 is taken then by another session (ART1" in response.content.decode()
    lesson.refresh_from_db()
    assert lesson.is_cancelled


def test_rooms_are_the_schools_and_compared_without_case(client, school, intruder):
    api = client.post(
        f"/api/courses/{school.other_course.pk}/sessions/",
        {**api_session(school.session.room, timezone.now(), timezone.now()), "room": "Broom cupboard"},
        content_type="application/json",
    )
    assert api.status_code == 400
    assert api.json()["room"] == ["No room is named 'Broom cupboard': the school's admins add the rooms."]
    assert not Room.objects.filter(name__iexact="broom cupboard").exists()

    client.force_login(school.admin)
    twin = client.post("/admin/students/room/add/", {"name": "r12"})
    assert twin.status_code == 200 and "A room of this name exists already" in twin.content.decode()
    assert Room.objects.filter(name__iexact="r12").count() == 1


@pytest.mark.django_db(transaction=True)
def test_free_text_rooms_become_the_schools_rooms_merged_without_case():
    executor = MigrationExecutor(connection)
    before = [("students", "0009_session_events_and_not_seen"), ("recognition", "0007_face_corrections")]
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    course = old.get_model("students", "Course").objects.create(code="MATH1", name="Maths")
    sessions = old.get_model("students", "ClassSession").objects
    start = timezone.now()
    for offset, room in enumerate(["Room 12", "room 12 ", "Room 12", "Lab", ""]):
        at = start + timedelta(days=offset)
        sessions.create(course=course, starts_at=at, ends_at=at + timedelta(hours=1), room=room)
    devices = old.get_model("recognition", "DeviceToken").objects
    devices.create(name="Room 12 camera", room="ROOM 12", token_hash="a" * 64)
    devices.create(name="Hall camera", room="Hall", token_hash="b" * 64)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert sorted(Room.objects.values_list("name", flat=True)) == ["Hall", "Lab", "Room 12"]
    by_room = ClassSession.objects.order_by("starts_at").values_list("room__name", flat=True)
    assert list(by_room) == ["Room 12", "Room 12", "Room 12", "Lab", None]
    from access.models import DeviceToken

    assert dict(DeviceToken.objects.values_list("name", "room__name")) == {
        "Room 12 camera": "Room 12",
        "Hall camera": "Hall",
    }
