"""A small school shared by the web and API tests: two teachers with a course each, students
with logins, a session per course in its own room, and device tokens for a course and a room."""

from dataclasses import dataclass

import pytest

from access.devices import issue_token
from access.models import DeviceToken
from tests.factories import make_course, make_room, make_session, make_student, make_user


@dataclass
class School:
    teacher: object
    other_teacher: object
    admin: object
    ada_user: object
    ada: object
    bob: object
    cyd: object
    dan: object
    course: object
    other_course: object
    session: object
    other_session: object


@pytest.fixture
def school(db):
    teacher = make_user("teacher", role="Teacher", first_name="Tess", last_name="Teacher")
    other_teacher = make_user("other_teacher", role="Teacher")
    admin = make_user("boss", role="Admin", is_staff=True, is_superuser=True)
    ada_user = make_user("ada", role="Student")
    ada = make_student("S1", "Ada Lovelace", user=ada_user)
    bob = make_student("S2", "Bob Babbage")
    cyd = make_student("S3", "Cyd Charisse")
    dan = make_student("S4", "Dan Dare", user=make_user("dan", role="Student"))
    course = make_course("MATH1", teacher=teacher, students=[ada, bob, cyd])
    other_course = make_course("ART1", teacher=other_teacher, students=[dan])
    session = make_session(course, room="R12")
    other_session = make_session(other_course, room="R99")
    return School(
        teacher, other_teacher, admin, ada_user, ada, bob, cyd, dan, course, other_course, session, other_session
    )


def device_token(name="Room camera", **scope):
    """A saved DeviceToken and the token a camera would send; room: a Room or its name."""
    if isinstance(scope.get("room"), str):
        scope["room"] = make_room(scope["room"])
    device = DeviceToken(name=name, **scope)
    token = issue_token(device)
    device.save()
    return device, token


BBT = ["BBT_Bernadette", "BBT_Howard", "BBT_Raj", "BBT_Sheldon", "BBT_Stuart"]
BBT_GROUP_PHOTO = "group/faceapi_bbt4.jpg"
