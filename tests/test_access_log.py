"""The access log (issue 20): every view or download of a face image, every export and every
withdrawal writes who, when, what and from where; the log is append-only, read-only in the
admin, and in the student's export."""

import io
import json
import zipfile

import pytest
from django.urls import reverse

from students.models import AccessLogEntry
from tests.factories import make_course, make_session, make_student, make_user
from tests.helpers import photo_jpeg
from tests.recognition.test_privacy import make_capture_with_face

pytestmark = pytest.mark.django_db


def test_a_teachers_view_of_a_crop_is_logged_with_the_address_behind_the_proxy(client, settings):
    settings.TRUSTED_PROXY_HOPS = 1
    teacher = make_user("teacher", role="Teacher")
    student = make_student("S1", "Ada Lovelace")
    session = make_session(make_course(teacher=teacher, students=[student]))
    capture, face = make_capture_with_face(session, photo_jpeg(), student=student)
    client.force_login(teacher)

    served = client.get(
        reverse("face_crop_image", args=[face.pk]), REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7"
    )

    assert served.status_code == 200
    entry = AccessLogEntry.objects.get()
    assert (entry.user, entry.who, entry.action, entry.student, entry.address) == (
        teacher,
        "teacher",
        AccessLogEntry.VIEW_IMAGE,
        student,
        "203.0.113.7",
    )
    assert entry.what == f"Face {face.pk} in class photo {capture.pk}"
    # Refused or missing: nothing was seen, nothing is logged.
    client.force_login(make_user("other", role="Teacher"))
    assert client.get(reverse("face_crop_image", args=[face.pk])).status_code == 404
    assert AccessLogEntry.objects.count() == 1


def test_exports_are_logged_and_the_students_export_holds_their_log(client):
    admin = make_user("admin", role="Admin", is_staff=True)
    student = make_student("S1", "Ada Lovelace")
    course = make_course(teacher=admin, students=[student])
    client.force_login(admin)
    assert client.get(reverse("course_csv", args=[course.pk])).status_code == 200
    changelist = reverse("admin:students_student_changelist")

    exported = client.post(changelist, {"action": "export_student_data", "_selected_action": [student.pk]})

    assert list(AccessLogEntry.objects.order_by("pk").values_list("action", "what")) == [
        (AccessLogEntry.EXPORT, "Attendance CSV of MATH1"),
        (AccessLogEntry.EXPORT, "Everything stored about S1"),
    ]
    exported = client.post(changelist, {"action": "export_student_data", "_selected_action": [student.pk]})
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        record = json.loads(archive.read("student.json"))
    assert [entry["what"] for entry in record["access_log"]] == ["Everything stored about S1"]
    assert record["access_log"][0]["who"] == "admin"


def test_the_log_is_append_only_and_read_only_in_the_admin(client):
    student = make_student("S1")
    entry = AccessLogEntry.objects.create(who="x", action=AccessLogEntry.EXPORT, what="y", student=student)
    entry.what = "rewritten"
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()

    client.force_login(make_user("admin", role="Admin", is_staff=True))
    assert client.get(reverse("admin:students_accesslogentry_changelist")).status_code == 200
    change = client.get(reverse("admin:students_accesslogentry_change", args=[entry.pk]))
    assert change.status_code == 200 and b'name="_save"' not in change.content
    assert client.get(reverse("admin:students_accesslogentry_delete", args=[entry.pk])).status_code == 403
