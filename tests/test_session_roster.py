"""The session's roster and the session itself: "mark everyone not seen absent" (which leaves
the session open), closing only once confirmed, reopening (audited, the close's own absences
removed), no photo taken into a closed session on any route (409 with how to reopen) while a
photo queued before the close is still recognised, each student's change history on the page,
and a status change confirmed in its own row. Real database, real views, real API."""

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from recognition.captures import create_capture
from recognition.models import Capture
from recognition.tasks import process_capture
from students.attendance import close_session, mark_not_seen_absent, mark_seen, reopen_session, set_status
from students.models import AttendanceChange, AttendanceRecord, SessionEvent
from tests.api.test_api import as_device, jpeg
from tests.factories import make_course, make_session, make_user
from tests.helpers import enrol_identities
from tests.recognition.conftest import engine  # noqa: F401 - fixture
from tests.web.school import BBT, BBT_GROUP_PHOTO, device_token, school  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def statuses(session):
    return dict(session.attendance.values_list("student__full_name", "status"))


def sources(session):
    return dict(session.attendance.values_list("student__full_name", "source"))


def row_of(html, student):
    """The HTML of one student's roster row."""
    match = re.search(rf'<tr id="student-{student.pk}".*?</tr>', html, re.S)
    assert match, f"no roster row for {student}"
    return match.group(0)


def top_messages(html):
    match = re.search(r'<ul class="messages" role="status">(.*?)</ul>', html, re.S)
    return match.group(1) if match else ""


# --- Mark everyone not seen absent -------------------------------------------------------------


def test_marking_everyone_not_seen_absent_leaves_the_session_open_and_teachers_statuses_alone(school):
    session, teacher = school.session, school.teacher
    mark_seen(session, school.ada, session.starts_at, "photo", 0.3)
    set_status(session, school.bob, "excused", teacher, "Dentist")

    assert mark_not_seen_absent(session, teacher) == 1
    session.refresh_from_db()
    assert session.closed_at is None
    assert statuses(session) == {"Ada Lovelace": "present", "Bob Babbage": "excused", "Cyd Charisse": "absent"}
    assert sources(session)["Cyd Charisse"] == AttendanceRecord.NOT_SEEN
    event = SessionEvent.objects.get(session=session)
    assert (event.action, event.by, event.detail) == (SessionEvent.MARKED_NOT_SEEN_ABSENT, teacher, "1 marked absent")
    assert mark_not_seen_absent(session, teacher) == 0  # nobody is left unmarked


def test_a_student_photographed_after_marking_not_seen_absent_is_late_not_absent(school):
    session = school.session
    mark_not_seen_absent(session, school.teacher)
    record = mark_seen(session, school.cyd, session.starts_at + timedelta(minutes=20), "photo", 0.3)
    assert (record.status, record.source) == ("late", "photo")


def test_a_photo_taken_before_the_close_beats_an_absence_marked_before_the_close(school):
    """The close's invariant holds for "mark everyone not seen absent" too: a photo taken before
    the close, recognised after it, leaves nobody it shows absent. A photo taken after the close
    does not change the absence."""
    session = school.session
    mark_not_seen_absent(session, school.teacher)
    close_session(session, school.teacher)
    before_close = session.closed_at - timedelta(minutes=1)
    assert mark_seen(session, school.cyd, before_close, "photo", 0.3).status == "present"
    assert mark_seen(session, school.bob, session.closed_at + timedelta(seconds=1), "photo", 0.3).status == "absent"


def test_the_button_marks_them_and_says_so_in_the_finish_card(client, school):
    client.force_login(school.teacher)
    response = client.post(f"/sessions/{school.session.pk}/not-seen-absent/")
    assert response.status_code == 302 and response["Location"].endswith(f"/sessions/{school.session.pk}/#finish")
    html = client.get(response["Location"]).content.decode()
    assert "3 students not seen yet were marked absent. The session stays open" in html
    assert "3 students not seen yet" not in top_messages(html)
    assert html.count("marked everyone not seen absent; a class photo taken before the close still counts") == 3


# --- Closing, only once confirmed ---------------------------------------------------------------


def test_closing_without_ticking_yes_closes_nothing(client, school):
    client.force_login(school.teacher)
    response = client.post(f"/sessions/{school.session.pk}/close/", follow=True)
    school.session.refresh_from_db()
    assert school.session.closed_at is None and not AttendanceRecord.objects.exists()
    assert "Not closed: tick “Yes, close it” first." in response.content.decode()


def test_the_close_asks_for_a_required_yes(client, school):
    client.force_login(school.teacher)
    html = client.get(f"/sessions/{school.session.pk}/").content.decode()
    assert re.search(r'<input type="checkbox" name="confirm" value="yes" required>\s*Yes, close it', html)


def test_closing_with_yes_closes_and_is_audited(client, school):
    client.force_login(school.teacher)
    response = client.post(f"/sessions/{school.session.pk}/close/", {"confirm": "yes"})
    assert response["Location"].endswith("#finish")
    school.session.refresh_from_db()
    assert school.session.closed_at is not None
    event = SessionEvent.objects.get(session=school.session)
    assert (event.action, event.by, event.at) == (SessionEvent.CLOSED, school.teacher, school.session.closed_at)
    html = client.get(response["Location"]).content.decode()
    local = timezone.localtime(school.session.closed_at)
    assert f"This session was closed at {local:%H:%M} by Tess Teacher." in html
    assert "Reopen session" in html


# --- Reopening -------------------------------------------------------------------------------


def test_reopening_removes_the_closes_own_absences_and_keeps_everyone_elses(school):
    session, teacher = school.session, school.teacher
    other = make_user("sub", role="Teacher", first_name="Sam", last_name="Sub")
    school.course.teachers.add(other)
    mark_seen(session, school.ada, session.starts_at, "photo", 0.3)
    set_status(session, school.bob, "absent", teacher, "Phoned in sick")
    close_session(session, teacher)
    assert sources(session)["Cyd Charisse"] == "close"

    removed = reopen_session(session, other)

    assert removed == ["Cyd Charisse"]
    session.refresh_from_db()
    assert session.closed_at is None
    assert statuses(session) == {"Ada Lovelace": "present", "Bob Babbage": "absent"}
    assert sources(session) == {"Ada Lovelace": "photo", "Bob Babbage": "manual"}
    reopened = SessionEvent.objects.get(session=session, action=SessionEvent.REOPENED)
    assert reopened.by == other and reopened.at >= reopened.session.events.get(action=SessionEvent.CLOSED).at
    assert reopened.detail == "the close's absence of Cyd Charisse removed"


def test_reopening_keeps_the_absences_marked_before_the_close(school):
    session = school.session
    mark_not_seen_absent(session, school.teacher)
    close_session(session, school.teacher)
    assert reopen_session(session, school.teacher) == []
    assert set(sources(session).values()) == {AttendanceRecord.NOT_SEEN}


def test_reopening_an_open_session_does_nothing(school):
    assert reopen_session(school.session, school.teacher) is None
    assert not SessionEvent.objects.exists()


def test_closing_again_after_a_reopen_takes_the_new_time_as_the_cut_off(school):
    session = school.session
    close_session(session, school.teacher)
    first_close = session.closed_at
    reopen_session(session, school.teacher)
    close_session(session, school.teacher)
    assert session.closed_at > first_close
    assert statuses(session) == dict.fromkeys(["Ada Lovelace", "Bob Babbage", "Cyd Charisse"], "absent")
    # A photo taken between the two closes was taken before the close that now stands.
    assert mark_seen(session, school.ada, first_close + timedelta(microseconds=1), "photo", 0.3).status == "present"
    assert [event.action for event in session.events.all()] == ["closed", "reopened", "closed"]


def test_the_reopen_button_reopens_and_the_session_history_says_who(client, school):
    close_session(school.session, school.teacher)
    client.force_login(school.teacher)
    response = client.post(f"/sessions/{school.session.pk}/reopen/")
    assert response["Location"].endswith("#finish")
    html = client.get(response["Location"]).content.decode()
    assert "Session reopened: it takes photos again; 3 absences written by the close were removed." in html
    assert (
        "Tess Teacher: reopened (the close&#x27;s absence of Ada Lovelace, Bob Babbage, Cyd Charisse removed)" in html
    )
    assert "Tess Teacher: closed" in html
    assert "Close session" in html


def test_only_the_sessions_teachers_reopen_or_mark_it(client, school):
    close_session(school.session, school.teacher)
    client.force_login(school.other_teacher)
    for url in ["reopen", "not-seen-absent"]:
        assert client.post(f"/sessions/{school.session.pk}/{url}/").status_code == 404
    school.session.refresh_from_db()
    assert school.session.closed_at is not None


# --- No photo into a closed session ------------------------------------------------------------


def closed_message(session):
    local = timezone.localtime(session.closed_at)
    return f"This session was closed at {local:%H:%M} by Tess Teacher. Reopen it on the session page to add photos."


def test_a_closed_session_refuses_photos_from_the_page_and_from_a_camera_with_how_to_reopen(client, school):
    close_session(school.session, school.teacher)
    url = f"/api/sessions/{school.session.pk}/captures/"
    client.force_login(school.teacher)
    refused = client.post(url, {"image": jpeg()})  # what the session page's upload sends
    assert refused.status_code == 409
    assert refused.json() == {"detail": closed_message(school.session)}
    client.logout()
    _, token = device_token(room="R12")
    refused = client.post(url, {"image": jpeg()}, **as_device(token))
    assert (refused.status_code, refused.json()["detail"]) == (409, closed_message(school.session))
    assert not Capture.objects.exists()


def test_the_page_of_a_closed_session_says_how_to_reopen_and_disables_its_upload(client, school):
    close_session(school.session, school.teacher)
    client.force_login(school.teacher)
    html = client.get(f"/sessions/{school.session.pk}/").content.decode()
    local = timezone.localtime(school.session.closed_at)
    assert (
        f'This session was closed at {local:%H:%M} by Tess Teacher. <a href="#finish">Reopen it</a> to add photos.'
        in html
    )
    assert '<fieldset class="plain" disabled>' in html


def test_a_reopened_session_takes_photos_again(client, school):
    close_session(school.session, school.teacher)
    reopen_session(school.session, school.teacher)
    client.force_login(school.teacher)
    assert client.post(f"/api/sessions/{school.session.pk}/captures/", {"image": jpeg()}).status_code == 202


def test_a_status_is_still_changed_over_the_api_once_closed(client, school):
    close_session(school.session, school.teacher)
    client.force_login(school.teacher)
    response = client.patch(
        f"/api/sessions/{school.session.pk}/attendance/{school.bob.pk}/",
        {"status": "excused"},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["status"] == "excused"


@pytest.mark.slow
def test_a_photo_queued_before_the_close_is_still_recognised_after_it(faces_dataset, engine):  # noqa: F811
    teacher = make_user("teacher", role="Teacher", first_name="Tess", last_name="Teacher")
    course = make_course("PHYS1", teacher=teacher)
    enrol_identities(faces_dataset, BBT, course)
    session = make_session(course)
    photo = (faces_dataset / BBT_GROUP_PHOTO).read_bytes()
    capture = create_capture(session, SimpleUploadedFile("class.jpg", photo, "image/jpeg"), uploaded_by=teacher)
    close_session(session, teacher)

    process_capture(capture.pk)  # what the worker runs for the queued message

    capture.refresh_from_db()
    assert capture.status == Capture.DONE, capture.error
    assert statuses(session) == {
        "BBT Sheldon": "present",
        "BBT Bernadette": "present",
        "BBT Howard": "absent",
        "BBT Stuart": "absent",
        "BBT Raj": "absent",
    }


# --- The roster: a change confirmed in its row, and each student's history ------------------------


def test_a_status_change_comes_back_to_its_row_with_the_confirmation_in_it(client, school):
    client.force_login(school.teacher)
    url = f"/sessions/{school.session.pk}/students/{school.bob.pk}/status/"
    response = client.post(url, {"status": "excused", "reason": "Dentist"})
    assert response["Location"].endswith(f"/sessions/{school.session.pk}/#student-{school.bob.pk}")
    html = client.get(response["Location"]).content.decode()
    assert "Saved: Bob Babbage is excused." in row_of(html, school.bob)
    assert "Saved:" not in top_messages(html) and "Saved:" not in row_of(html, school.ada)
    assert 'value="excused" class="status-choice status-choice-excused" aria-pressed="true"' in row_of(html, school.bob)
    # Shown once: a reload does not say it again.
    assert "Saved:" not in client.get(f"/sessions/{school.session.pk}/").content.decode()


def test_a_status_change_without_a_status_says_so_in_its_row(client, school):
    client.force_login(school.teacher)
    response = client.post(
        f"/sessions/{school.session.pk}/students/{school.bob.pk}/status/", {"reason": "?"}, follow=True
    )
    assert "Not saved: choose present, late, absent or excused." in row_of(response.content.decode(), school.bob)
    assert not AttendanceRecord.objects.exists()


def test_each_students_change_history_is_on_the_session_page(client, school):
    session, teacher = school.session, school.teacher
    seen_at = session.starts_at + timedelta(minutes=15)
    mark_seen(session, school.ada, seen_at, "photo", 0.3)
    set_status(session, school.ada, "present", teacher, "Was there at the bell")
    client.force_login(teacher)
    row = row_of(client.get(f"/sessions/{session.pk}/").content.decode(), school.ada)
    changes = list(AttendanceChange.objects.filter(record__student=school.ada))
    assert "<summary>History (2)</summary>" in row
    first, second = (f"{timezone.localtime(change.changed_at):%-d %b %H:%M}" for change in changes)
    assert f"{first}</time> · Recognition: not seen yet → late (“Recognised in a class photo”)" in row
    assert f"{second}</time> · Tess Teacher: late → present (“Was there at the bell”)" in row
    assert "First seen " + f"{timezone.localtime(seen_at):%H:%M:%S}" in row
    assert "No change yet" in row_of(client.get(f"/sessions/{session.pk}/").content.decode(), school.bob)
