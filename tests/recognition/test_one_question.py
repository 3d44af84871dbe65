"""Questions per session (issue 17): two photos of the same group in one session ask nothing in
the second about anyone decided in the first. Real worker path on the shared dataset: the Big
Bang Theory cast enrolled with consent; faceapi_bbt4.jpg, then the same photo degraded (shrunk
to 0.8 and saved at JPEG quality 75, as a second snapshot of the class would differ). In bbt4
Sheldon and Bernadette are marked, Raj is a suggestion and three people are strangers."""

import io
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from recognition.captures import create_capture
from recognition.models import Capture
from recognition.processing import process_capture
from students.models import AttendanceRecord
from tests.factories import make_course, make_session, make_user
from tests.helpers import enrol_identities
from tests.web.school import BBT

pytestmark = pytest.mark.slow

BBT4 = "group/faceapi_bbt4.jpg"


def degraded(path, scale=0.8, quality=75):
    image = Image.open(path).convert("RGB")
    image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def recognised(session, teacher, name, content, minutes_ago):
    """A photo uploaded and recognised by the worker's function (the test's transaction never
    commits, so the task sent on commit does not run)."""
    upload = SimpleUploadedFile(name, content, "image/jpeg")
    capture = create_capture(session, upload, teacher, taken_at=timezone.now() - timedelta(minutes=minutes_ago))
    process_capture(capture.pk)
    capture.refresh_from_db()
    assert capture.status == Capture.DONE, capture.error
    return capture


def who_is_this(page):
    """The "Who is this?" cards of the session page: [(the card's HTML)]."""
    return re.findall(r'<li class="person" id="person-\d+">(.*?)</li>', page, re.S)


def actions(card, label):
    """The action of the card's form whose button says label."""
    return re.search(r'<form method="post" action="([^"]+)">[^<]*<input[^>]*>\s*<button[^>]*>' + label, card).group(1)


def capture_card(page, capture):
    start = page.index(f'data-capture-id="{capture.pk}"')
    end = page.find("data-capture-id=", start + 20)
    return page[start : end if end > 0 else len(page)]


def test_a_second_photo_of_the_class_asks_nothing_about_anyone_decided_in_the_first(client, db, faces_dataset, engine):
    teacher = make_user("tess", role="Teacher", first_name="Tess", last_name="Teacher")
    course = make_course("BBT", teacher=teacher)
    cast = enrol_identities(faces_dataset, BBT, course)
    session = make_session(course, starts_at=timezone.now() - timedelta(minutes=30), late_after_minutes=10)
    first = recognised(session, teacher, "bbt4.jpg", (faces_dataset / BBT4).read_bytes(), 25)
    client.force_login(teacher)

    # The first photo asks four questions: Raj (a suggestion) and three strangers.
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    cards = who_is_this(page)
    assert len(cards) == 4 and len(client.get(f"/api/sessions/{session.pk}/unknown-people/").json()) == 4
    # The teacher answers them all on the page: yes, Raj; two are not students of the course ...
    raj_card = next(card for card in cards if "Yes, BBT Raj" in card)
    strangers = [card for card in cards if card is not raj_card]
    client.post(actions(raj_card, "Yes, BBT Raj"))
    for card in strangers[:2]:
        client.post(actions(card, "Not one of my students"))
    # ... and the third through the API.
    last = client.get(f"/api/sessions/{session.pk}/unknown-people/").json()
    assert len(last) == 1
    assert (
        client.post(f"/api/faces/{last[0]['faces'][0]['id']}/dismiss/", {}, content_type="application/json").status_code
        == 200
    )
    assert who_is_this(client.get(f"/sessions/{session.pk}/").content.decode()) == []

    second = recognised(session, teacher, "bbt4-again.jpg", degraded(faces_dataset / BBT4), 1)

    # Nothing asked: no "Who is this?", no suggestion to confirm, every face decided.
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert who_is_this(page) == [] and 'id="who-is-this"' not in page
    card = capture_card(page, second)
    assert "Yes, " not in card and ">Who is this?<" not in card and 'class="label suggested"' not in card
    assert client.get(f"/api/sessions/{session.pk}/unknown-people/").json() == []
    faces = client.get(f"/api/captures/{second.pk}/").json()["faces"]
    assert len(faces) == 6
    assert all(face["student"] or face["dismissed"] for face in faces), faces
    named = {face["student"]["full_name"]: face for face in faces if face["student"]}
    assert set(named) == {"BBT Raj", "BBT Sheldon", "BBT Bernadette"}
    # Raj's face is his either by the teacher's "yes", carried, or because the machine now marks him
    # on its own (the degraded copy meets the gallery at its size): never a question again.
    assert named["BBT Raj"]["decided_by"] in ("person", "auto")
    # Raj stays as the teacher decided, seen first in the first photo.
    record = AttendanceRecord.objects.get(session=session, student=cast["BBT Raj"])
    assert (record.source, record.first_seen_at) == (AttendanceRecord.FACE, first.taken_at)
