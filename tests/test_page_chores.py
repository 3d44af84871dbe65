"""The small things a school notices in a week: a favicon (not a 404 on every page), "Cancel"
asks first, processing times in seconds, and an enrolment photo's status the admin's page can
follow without a reload, for the staff who teach the student only."""

from django.contrib.staticfiles import finders
from django.core.files.base import ContentFile
from django.utils import timezone

from recognition.models import Capture, FacePhoto
from tests.helpers import photo_jpeg


def test_the_favicon_is_shipped(client, school):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("favicon.svg")
    assert finders.find("favicon.svg")
    client.force_login(school.teacher)
    assert 'rel="icon"' in client.get("/").content.decode()


def test_cancelling_a_session_asks_first(client, school):
    client.force_login(school.teacher)
    page = client.get(f"/sessions/{school.session.pk}/edit/").content.decode()
    assert 'data-confirm="Cancel this session?' in page
    assert "/static/confirm.js" in page


def test_a_teacher_reads_processing_times_in_seconds(client, school):
    capture = Capture(
        session=school.session, taken_at=timezone.now(), status=Capture.DONE, width=320, height=240, total_ms=2412.0
    )
    capture.image.save("class.jpg", ContentFile(photo_jpeg()), save=False)
    capture.save()
    client.force_login(school.teacher)
    page = client.get(f"/sessions/{school.session.pk}/").content.decode()
    assert "recognised in 2.4 s" in page and " ms" not in page


def photo_of(student, status, **fields):
    return FacePhoto.objects.create(student=student, image="enrolment/x.jpg", status=status, **fields)


def test_enrolment_photo_statuses_for_the_staff_who_teach_the_student(client, school):
    waiting = photo_of(school.ada, FacePhoto.PENDING)
    held = photo_of(school.ada, FacePhoto.HELD, hold_reason="Looks like Bob Babbage")
    client.force_login(school.teacher)

    photos = client.get(f"/students/{school.ada.pk}/photos/statuses/").json()["photos"]

    assert photos[str(waiting.pk)] == {"status": "pending", "label": "Pending", "reason": ""}
    assert photos[str(held.pk)]["reason"] == "Looks like Bob Babbage"
    client.force_login(school.other_teacher)
    assert client.get(f"/students/{school.ada.pk}/photos/statuses/").status_code == 404
    client.logout()
    assert client.get(f"/students/{school.ada.pk}/photos/statuses/").status_code == 302


def test_the_admins_student_page_marks_pending_photos_for_its_script(client, school):
    waiting = photo_of(school.ada, FacePhoto.PENDING)
    client.force_login(school.admin)
    page = client.get(f"/admin/students/student/{school.ada.pk}/change/").content.decode()
    assert f'data-photo="{waiting.pk}" data-status="pending"' in page
    assert "/static/photo_status.js" in page
