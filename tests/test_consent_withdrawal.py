"""Withdrawing consent (issue 20): everything biometric of the student goes at once, files
included, from the disk or the bucket; every worker's gallery forgets them, so their next class
photo (real recognition of a dataset photo) marks nobody as them; their attendance records stay;
the withdrawal is audited; consent given again starts from nothing."""

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from recognition.engine.match import MARK, UNKNOWN
from recognition.models import DetectedFace, FaceEmbedding, FacePhoto
from recognition.processing import face_engine, gallery_version, school_gallery
from recognition.withdrawal import WITHDRAWN_REASON
from students.attendance import close_session
from students.consent import WithdrawalWithoutWord, record_consent, withdraw_consent
from students.models import AccessLogEntry, AttendanceRecord, ConsentWithdrawal, Student
from tests.factories import make_course, make_session, make_student, make_user
from tests.helpers import photo_jpeg, recognised_class_photo, upload_class_photo
from tests.recognition.test_privacy import make_capture_with_face, stored_path
from tests.recognition.test_session_people import BEN, face, snapshot
from tests.s3_server import s3_photos, s3_server  # noqa: F401  fixtures


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_withdrawal_deletes_everything_biometric_and_the_next_photo_marks_nobody_as_them(
    client,
    faces_dataset,
    eager_celery,
    s3_photos,
    s3_server,  # noqa: F811
):
    students, session, capture, photo = recognised_class_photo(client, faces_dataset)
    sheldon = students["BBT Sheldon"]
    assert session.attendance.get(student=sheldon).status == AttendanceRecord.PRESENT
    his_photos = set(sheldon.face_photos.values_list("image", flat=True))
    his_faces = list(DetectedFace.objects.filter(student=sheldon).values_list("pk", "crop"))
    assert his_photos and len(his_faces) == 1 and FaceEmbedding.objects.filter(photo__student=sheldon).exists()
    engine = face_engine()
    sizes = engine.calibration.gallery_sizes
    before = gallery_version(engine.embedder.name, sizes)
    others = set(s3_server.keys(s3_photos)) - his_photos - {crop for _, crop in his_faces}

    call_command("withdraw_consent", sheldon.student_number, by="Mary Cooper, his mother")

    # Nothing biometric of him is left: photos, descriptors, crops, and their objects.
    assert not FacePhoto.objects.filter(student=sheldon).exists()
    assert not FaceEmbedding.objects.filter(photo__student=sheldon).exists()
    assert not DetectedFace.objects.filter(student=sheldon).exists()
    assert not DetectedFace.objects.filter(suggested_student=sheldon).exists()
    face = DetectedFace.objects.get(pk=his_faces[0][0])
    assert (face.embedding, face.crop.name, face.decision, face.reason) == (b"", "", "unknown", WITHDRAWN_REASON)
    assert set(s3_server.keys(s3_photos)) == others
    # The gallery's fingerprint changed: every worker reads the gallery again before its next photo.
    assert gallery_version(engine.embedder.name, sizes) != before
    assert sheldon.pk not in school_gallery.current(engine.embedder.name, sizes).students
    # His attendance stays, and the withdrawal is audited.
    assert session.attendance.get(student=sheldon).status == AttendanceRecord.PRESENT
    sheldon.refresh_from_db()
    assert not sheldon.has_consent and sheldon.consent_given_by == ""
    withdrawal = ConsentWithdrawal.objects.get(student=sheldon)
    assert withdrawal.withdrawn_by == "Mary Cooper, his mother" and withdrawal.consent_given_by == "test fixture"
    assert withdrawal.deleted == {"enrolment_photos": len(his_photos), "faces_in_class_photos": 1}
    assert AccessLogEntry.objects.get(student=sheldon, action=AccessLogEntry.WITHDRAWAL).address == "command line"

    # His next class photo marks nobody as him; the others are still recognised.
    teacher = session.course.teachers.get()
    next_session = make_session(session.course)
    upload_class_photo(client, teacher, next_session, photo)
    assert not next_session.attendance.filter(student=sheldon).exists()
    assert next_session.attendance.filter(student=students["BBT Bernadette"]).exists()
    assert not DetectedFace.objects.filter(student=sheldon).exists()
    assert not DetectedFace.objects.filter(suggested_student=sheldon).exists()

    # Its close leaves no descriptor or crop of the faces that mark nobody (him among them):
    # the bucket keeps only the crops the rows still point to.
    close_session(next_session, teacher)
    unclaimed = DetectedFace.objects.filter(capture__session=next_session, student=None)
    assert unclaimed.exists() and not unclaimed.exclude(embedding=b"", crop="").exists()
    crops = DetectedFace.objects.exclude(crop="").values_list("crop", flat=True)
    assert s3_server.keys(s3_photos, "crops/") == sorted(crops)

    # Consent given again starts from nothing: no photo of him waits to be embedded.
    record_consent(Student.objects.filter(pk=sheldon.pk), None, "Mary Cooper")
    assert not FacePhoto.objects.filter(student=sheldon).exists()


def a_student_with_face_data(number="S1"):
    """A consenting student with an enrolment photo, its descriptor, and a face in a class photo
    (files on disk; no face in them: this is about what is kept, not what is recognised)."""
    jpeg = photo_jpeg()
    student = make_student(number, f"Student {number}")
    record_consent(Student.objects.filter(pk=student.pk), None, "their guardian")
    session = make_session(make_course(f"C{number}", students=[student]))
    photo = FacePhoto(student=student, status=FacePhoto.ACCEPTED)
    photo.image.save("p.jpg", ContentFile(jpeg))
    FaceEmbedding.objects.create(photo=photo, model_name="test", vector=b"\0" * 16)
    capture, face = make_capture_with_face(session, jpeg, student=student)
    DetectedFace.objects.filter(pk=face.pk).update(embedding=b"\1" * 16)
    return student, session, [stored_path(photo.image), stored_path(face.crop)], face


@pytest.mark.django_db(transaction=True)
def test_the_button_on_the_students_page_asks_on_whose_word_and_when_and_withdraws(client):
    student, session, files, face = a_student_with_face_data()
    AttendanceRecord.objects.create(session=session, student=student, status=AttendanceRecord.PRESENT)
    admin = make_user("admin", role="Admin", is_staff=True)
    client.force_login(admin)

    page = client.get(reverse("admin:students_student_change", args=[student.pk]))
    form_url = reverse("admin:students_student_withdraw_consent", args=[student.pk])
    assert form_url in page.content.decode()
    assert b"Withdrawn on the word of" in client.get(form_url).content
    refused = client.post(form_url, {"withdrawn_by": " ", "withdrawn_at": "2026-01-05T09:30"})
    assert refused.status_code == 200 and all(path.exists() for path in files)

    done = client.post(
        form_url, {"withdrawn_by": "Ann Guardian", "withdrawn_at": "2026-01-05T09:30"}, REMOTE_ADDR="10.1.2.3"
    )

    assert done.status_code == 302
    assert not any(path.exists() for path in files)
    assert not FacePhoto.objects.exists() and not FaceEmbedding.objects.exists()
    face.refresh_from_db()
    assert face.student is None and face.embedding == b"" and not face.crop
    assert AttendanceRecord.objects.filter(student=student).exists()
    withdrawal = ConsentWithdrawal.objects.get()
    assert (withdrawal.withdrawn_by, withdrawal.recorded_by) == ("Ann Guardian", admin)
    assert timezone.localtime(withdrawal.withdrawn_at).strftime("%Y-%m-%d %H:%M") == "2026-01-05 09:30"
    logged = AccessLogEntry.objects.get(action=AccessLogEntry.WITHDRAWAL)
    assert (logged.user, logged.student, logged.address) == (admin, student, "10.1.2.3")


@pytest.mark.django_db(transaction=True)
def test_the_list_action_withdraws_for_the_students_ticked(client):
    first, _, first_files, _ = a_student_with_face_data("S1")
    second, _, second_files, _ = a_student_with_face_data("S2")
    client.force_login(make_user("admin", role="Admin", is_staff=True))
    changelist = reverse("admin:students_student_changelist")
    chosen = {"action": "withdraw_consent", "_selected_action": [first.pk]}

    asked = client.post(changelist, chosen)
    assert b"Withdrawn on the word of" in asked.content and all(path.exists() for path in first_files)
    answer = {"confirm": "yes", "withdrawn_by": "the student", "withdrawn_at": "2026-01-05T09:30"}
    client.post(changelist, {**chosen, **answer})

    assert not any(path.exists() for path in first_files)
    assert all(path.exists() for path in second_files)
    assert list(Student.objects.with_consent()) == [second]


@pytest.mark.django_db
def test_a_withdrawal_says_on_whose_word_and_its_record_cannot_be_changed():
    student = make_student("S1")
    with pytest.raises(WithdrawalWithoutWord):
        withdraw_consent(student, "  ")
    withdrawal = withdraw_consent(student, "the student")
    withdrawal.withdrawn_by = "someone else"
    with pytest.raises(ValueError, match="append-only"):
        withdrawal.save()
    with pytest.raises(ValueError, match="append-only"):
        withdrawal.delete()


@pytest.mark.django_db(transaction=True)
def test_a_photo_matched_before_the_withdrawal_and_saved_after_it_marks_nobody_as_them(school):
    # The worker read the gallery before the withdrawal and saves its result after it.
    withdraw_consent(school.bob, "Bob")
    capture = snapshot(school.session, [face(BEN, MARK, school.bob.pk, 0.25)])

    stored = capture.faces.get()
    assert (stored.student, stored.decision) == (None, UNKNOWN)
    assert not AttendanceRecord.objects.filter(student=school.bob).exists()
