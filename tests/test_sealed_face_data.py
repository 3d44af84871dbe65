"""Face data sealed at rest (issue 20): with FACE_DATA_KEY set, no descriptor in the database
reads as a plain vector and no stored face image (on disk or in a bucket) is an image file,
while the worker still recognises a real class photo and the permission-checked views still
serve the image as it was; plain data stored before keeps reading, is sealed by
`seal_face_data`, and `rotate_face_key` moves everything to a new key while the old one reads."""

import io
from datetime import datetime

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from recognition.key_rotation import DESCRIPTORS, IMAGES, last_key_rotation
from recognition.models import Capture, DetectedFace, FaceEmbedding, FaceKeyRotation, FacePhoto, SessionPerson
from recognition.sealing import MAGIC, SealingError, key_id, new_key, parse_keys, seal, sealed_with, unseal
from tests.factories import make_course, make_session, make_student, make_user
from tests.helpers import photo_jpeg, recognised_class_photo
from tests.s3_server import s3_photos, s3_server  # noqa: F401  fixtures

IMAGE_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG", b"RIFF")
OLD_KEY, NEW_KEY = new_key(), new_key()


def stored_descriptors():
    """Every non-empty descriptor column's bytes as the database holds them, past the ORM."""
    found = []
    with connection.cursor() as cursor:
        for model, field in DESCRIPTORS:
            column = model._meta.get_field(field).column
            cursor.execute(f'SELECT "{column}" FROM "{model._meta.db_table}"')  # noqa: S608  names from the models
            found += [bytes(value) for (value,) in cursor.fetchall() if value]
    return found


def stored_files(storage_bytes):
    """Every face image's bytes as the storage holds them, by name."""
    names = []
    for model, field in IMAGES:
        names += [name for name in model.objects.values_list(field, flat=True) if name]
    return {name: storage_bytes(name) for name in names}


def reads_as_a_plain_vector(data):
    if len(data) % 4:
        return False
    with np.errstate(invalid="ignore", over="ignore"):  # ciphertext read as floats has NaNs and huge ones
        vector = np.frombuffer(data, dtype=np.float32).astype(np.float64)
        return bool(np.isfinite(vector).all()) and abs(float(np.linalg.norm(vector)) - 1) < 1e-3


def test_a_sealed_value_opens_with_its_key_only_and_shows_any_change():
    old, new = parse_keys(OLD_KEY), parse_keys(NEW_KEY)
    sealed = seal(b"descriptor", old)
    assert sealed.startswith(MAGIC) and b"descriptor" not in sealed
    assert sealed_with(sealed) == old.sealing.id != new.sealing.id
    assert unseal(sealed, parse_keys(f"{NEW_KEY},{OLD_KEY}")) == b"descriptor"  # the old key reads during a rotation
    assert unseal(b"plain", new) == b"plain"  # stored before sealing: read as it is
    with pytest.raises(SealingError, match="not among"):
        unseal(sealed, new)
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(SealingError, match="altered"):
        unseal(tampered, old)
    assert key_id(b"k" * 32) != key_id(b"l" * 32)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_with_a_key_the_worker_recognises_a_class_photo_and_nothing_stored_reads_in_the_clear(
    client,
    faces_dataset,
    eager_celery,
    settings,
    s3_photos,
    s3_server,  # noqa: F811
):
    settings.FACE_DATA_KEY = NEW_KEY
    students, session, capture, photo = recognised_class_photo(client, faces_dataset)

    # Recognised as without a key: the gallery and the class photo were opened by the worker.
    assert capture.face_count == 6
    assert dict(session.attendance.values_list("student__full_name", "status")) == {
        "BBT Sheldon": "present",
        "BBT Bernadette": "present",
    }
    descriptors = stored_descriptors()
    assert len(descriptors) >= 6 + FacePhoto.objects.count()  # the faces' and the gallery's
    assert all(data.startswith(MAGIC) for data in descriptors)
    assert not any(reads_as_a_plain_vector(data) for data in descriptors)
    files = stored_files(lambda name: s3_server.client.get_object(Bucket=s3_photos, Key=name)["Body"].read())
    assert len(files) == 1 + 6 + FacePhoto.objects.count()
    assert set(s3_server.keys(s3_photos)) == set(files)
    assert all(data.startswith(MAGIC) and not data.startswith(IMAGE_SIGNATURES) for data in files.values())

    # Through the permission-checked views, the image as it was sent.
    served = client.get(reverse("capture_image", args=[capture.pk]))
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert b"".join(served.streaming_content) == photo
    face = capture.faces.first()
    crop = client.get(reverse("face_crop_image", args=[face.pk]))
    assert crop.status_code == 200 and crop["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(b"".join(crop.streaming_content))).format == "JPEG"  # decoded, not sealed
    # The descriptors read back as the engine's unit vectors.
    assert abs(np.linalg.norm(face.as_array()) - 1) < 1e-3


def plain_face_data():
    """One of every kind of face data, stored before a key was set. Made-up vectors and noise
    images: this is about how they are stored, not about recognising anyone."""
    rng = np.random.default_rng(0)

    def unit_vector():
        vector = rng.normal(size=128).astype(np.float32)
        return vector / np.linalg.norm(vector)

    student = make_student("S1")
    photo = FacePhoto(student=student, status=FacePhoto.ACCEPTED)
    photo.image.save("photo.jpg", ContentFile(photo_jpeg(seed=1)))
    FaceEmbedding.objects.create(photo=photo, model_name="test", vector=unit_vector().tobytes())
    session = make_session(make_course("SEAL", students=[student]))
    capture = Capture(session=session, taken_at=timezone.now())
    capture.image.save("capture.jpg", ContentFile(photo_jpeg(seed=2)))
    person = SessionPerson.objects.create(
        session=session, embedder="test", descriptor_sum=unit_vector().astype(np.float64).tobytes(), face_count=1
    )
    face = DetectedFace(capture=capture, x1=0, y1=0, x2=10, y2=10, score=0.99, person=person)
    face.embedding = unit_vector().tobytes()
    face.crop.save("face.jpg", ContentFile(photo_jpeg(seed=3)))
    return photo, capture, face


def what_reads():
    """Every piece of face data as the site reads it, through the models and the storage."""
    values = [bytes(getattr(row, field)) for model, field in DESCRIPTORS for row in model.objects.order_by("pk")]
    for model, field in IMAGES:
        for instance in model.objects.all():
            with getattr(instance, field).open("rb") as handle:
                values.append(handle.read())
    return values


@pytest.mark.django_db(transaction=True)  # the old files go once each row's change commits
def test_plain_data_is_sealed_by_a_command_and_a_rotation_moves_it_to_the_new_key(settings, private_media_root):
    settings.FACE_DATA_KEY = ""
    plain_face_data()
    plain = what_reads()
    on_disk = lambda name: (private_media_root / name).read_bytes()  # noqa: E731
    assert all(data.startswith(IMAGE_SIGNATURES) for data in stored_files(on_disk).values())
    assert not any(data.startswith(MAGIC) for data in stored_descriptors())

    settings.FACE_DATA_KEY = OLD_KEY
    assert what_reads() == plain  # plain data reads with a key set too
    out = io.StringIO()
    call_command("seal_face_data", stdout=out)
    assert "detected faces' crop: 1/1" in out.getvalue() and "Sealed 6 under key" in out.getvalue()
    old_id = parse_keys(OLD_KEY).sealing.id
    assert {sealed_with(data) for data in stored_descriptors()} == {old_id}
    assert {sealed_with(data) for data in stored_files(on_disk).values()} == {old_id}
    assert len(list(private_media_root.rglob("*.jpg"))) == 3  # the plain files are gone, not kept beside
    assert what_reads() == plain
    listed, stored = DetectedFace.objects.get(), stored_descriptors()
    listed.save()  # loaded and saved, as a page does, its descriptor never read: never opened
    assert listed.__dict__["embedding"].startswith(MAGIC) and stored_descriptors() == stored
    call_command("seal_face_data", stdout=(again := io.StringIO()))
    assert "Sealed 0 under key" in again.getvalue()  # idempotent: what is sealed is left alone
    assert last_key_rotation() is None  # sealing is not a rotation

    settings.FACE_DATA_KEY = f"{NEW_KEY},{OLD_KEY}"
    assert what_reads() == plain  # during the rotation both keys read
    call_command("rotate_face_key", stdout=io.StringIO())
    new_id = parse_keys(NEW_KEY).sealing.id
    assert {sealed_with(data) for data in stored_descriptors()} == {new_id}
    assert {sealed_with(data) for data in stored_files(on_disk).values()} == {new_id}
    assert last_key_rotation() is not None

    settings.FACE_DATA_KEY = NEW_KEY
    assert what_reads() == plain  # the old key is no longer needed
    settings.FACE_DATA_KEY = OLD_KEY
    with pytest.raises(SealingError):
        what_reads()


@pytest.mark.django_db
def test_a_school_admin_sees_the_key_runs_read_only(client):
    finished = timezone.now()
    FaceKeyRotation.objects.create(kind=FaceKeyRotation.ROTATE, key_id="0a1b2c3d", resealed=12, finished_at=finished)
    client.force_login(make_user("office", role="Admin", is_staff=True))
    page = client.get(reverse("admin:recognition_facekeyrotation_changelist"))
    assert page.status_code == 200
    assert "0a1b2c3d" in page.content.decode() and "Key rotation" in page.content.decode()
    assert client.get(reverse("admin:recognition_facekeyrotation_add")).status_code == 403


@pytest.mark.django_db
def test_the_records_of_processing_say_whether_face_data_is_sealed_and_when_the_key_last_changed(client, settings):
    client.force_login(make_user("dpo", role="Admin", is_staff=True))
    summary = reverse("admin:recognition_retentionsweep_changelist")
    settings.FACE_DATA_KEY = ""
    page = client.get(summary).content.decode()
    assert "Face data is NOT sealed" in page and "The key has never been rotated." in page

    settings.FACE_DATA_KEY = NEW_KEY
    FaceKeyRotation.objects.create(
        kind=FaceKeyRotation.ROTATE, key_id="0a1b2c3d", finished_at=timezone.make_aware(datetime(2026, 11, 3, 9, 30))
    )
    page = client.get(summary).content.decode()
    assert f"sealed (AES-256-GCM) under key {parse_keys(NEW_KEY).sealing.id.hex()}" in page
    assert "Key last rotated: 3 Nov 2026 09:30." in page
