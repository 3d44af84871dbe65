"""A face wrongly named, and a face that is none of the course's students, as the teacher puts
them right on the session page: "Not <student>" takes back the attendance that face alone gave,
the roster can take any student back to "not seen yet", an absence never says when the student
was first seen, and a dismissed face looks and counts as dismissed.

The captures are saved by the worker's save_results from a hand-made result
(tests/recognition/test_session_people.py says why); the corrections go through the page's forms.
"""

import re

from recognition.engine.match import MARK, SUGGEST
from students.attendance import close_session, set_status
from students.models import AttendanceRecord, SessionEvent
from tests.recognition.test_session_people import ANN, BEN, face, near, only, record_of, snapshot


def roster_row(client, session, student):
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    return re.search(rf'<tr id="student-{student.pk}".*?</tr>', page, re.S).group(0)


def test_not_the_student_on_the_face_the_teacher_named_takes_them_back_to_not_seen(client, school):
    session = school.session
    capture = snapshot(session, [face(near(ANN, 0.1, 1), SUGGEST, school.ada.pk, 0.33)])
    client.force_login(school.teacher)
    client.post(f"/faces/{only(capture).pk}/confirm/")  # "Yes, Ada Lovelace": wrong
    assert record_of(session, school.ada).source == AttendanceRecord.FACE

    response = client.post(f"/faces/{only(capture).pk}/reject/", follow=True)

    # That face was all that said she was there: she is not seen yet, not Late.
    assert record_of(session, school.ada) is None
    assert "Ada Lovelace is not marked in this session now." in response.content.decode()
    assert ">Not seen yet<" in roster_row(client, session, school.ada)


def test_not_the_student_on_one_face_leaves_them_seen_by_another(client, school):
    session = school.session
    first = snapshot(session, [face(near(ANN, 0.1, 1), SUGGEST, school.ada.pk, 0.33)], seconds_ago=120)
    client.force_login(school.teacher)
    client.post(f"/faces/{only(first).pk}/confirm/")
    second = snapshot(session, [face(near(BEN, 0.1, 2), MARK, school.ada.pk, 0.2)], seconds_ago=60)
    assert only(second).student == school.ada

    client.post(f"/faces/{only(first).pk}/reject/")

    record = record_of(session, school.ada)
    assert record is not None and record.status in ("present", "late")


def test_a_status_set_in_the_roster_stays_when_a_face_is_said_not_to_be_them(client, school):
    session = school.session
    capture = snapshot(session, [face(near(ANN, 0.1, 1), MARK, school.ada.pk, 0.2)])
    set_status(session, school.ada, "excused", school.teacher, "Dentist")
    client.force_login(school.teacher)

    client.post(f"/faces/{only(capture).pk}/reject/")

    assert (record_of(session, school.ada).status, record_of(session, school.ada).source) == ("excused", "manual")


def test_the_roster_takes_a_student_back_to_not_seen(client, school):
    session = school.session
    set_status(session, school.bob, "late", school.teacher)
    client.force_login(school.teacher)
    assert "Back to not seen</button>" in roster_row(client, session, school.bob)

    response = client.post(
        f"/sessions/{session.pk}/students/{school.bob.pk}/not-seen/", {"reason": "Tapped the wrong row"}, follow=True
    )

    assert record_of(session, school.bob) is None
    assert "Saved: Bob Babbage is not seen yet." in response.content.decode()
    event = SessionEvent.objects.get(session=session, action=SessionEvent.CLEARED)
    assert (event.by, event.detail) == (school.teacher, "Bob Babbage: late → not seen yet (“Tapped the wrong row”)")


def test_in_a_closed_session_not_seen_is_the_closes_absence(client, school):
    session = school.session
    set_status(session, school.bob, "present", school.teacher)
    close_session(session, school.teacher)
    client.force_login(school.teacher)

    client.post(f"/sessions/{session.pk}/students/{school.bob.pk}/not-seen/")

    record = record_of(session, school.bob)
    assert (record.status, record.source) == ("absent", AttendanceRecord.CLOSE)
    # Already not seen: nothing more to take back.
    row = roster_row(client, session, school.bob)
    assert 'roster-clear" disabled>Back to not seen (absent by the close)' in row


def test_another_teachers_session_cannot_be_changed(client, school):
    set_status(school.other_session, school.dan, "late", school.other_teacher)
    client.force_login(school.teacher)
    response = client.post(f"/sessions/{school.other_session.pk}/students/{school.dan.pk}/not-seen/")
    assert response.status_code == 404
    assert record_of(school.other_session, school.dan).status == "late"


def test_an_absent_row_never_says_when_the_student_was_first_seen(client, school):
    session = school.session
    snapshot(session, [face(near(ANN, 0.1, 1), MARK, school.ada.pk, 0.2)])
    assert record_of(session, school.ada).first_seen_at is not None
    set_status(session, school.ada, "absent", school.teacher, "Left before the register")
    client.force_login(school.teacher)

    row = roster_row(client, session, school.ada)

    assert ">Absent<" in row and "First seen" not in row


def test_a_dismissed_face_looks_and_counts_as_dismissed(client, school):
    session = school.session
    first = snapshot(session, [face(near(ANN, 0.1, 1)), face(near(BEN, 0.1, 2), x=200)], seconds_ago=120)
    client.force_login(school.teacher)
    stranger = first.faces.order_by("x1").first()
    client.post(f"/faces/{stranger.pk}/dismiss/")
    snapshot(session, [], seconds_ago=60)  # the first photo is now an earlier one: its summary line

    page = client.get(f"/sessions/{session.pk}/?photo={first.pk}").content.decode()

    assert "0 marked · 0 suggested · 1 unknown · 1 dismissed" in page
    mark = re.search(rf'<a [^>]*id="mark-{stranger.pk}".*?</a>', page, re.S).group(0)
    assert 'class="box dismissed"' in mark and "unknown" not in mark
