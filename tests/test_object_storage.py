"""Photos in S3-compatible object storage: every path that touches a face image (upload, the
worker reading it, crops, the views, the student export, deletion, retention) against a local
S3 server (moto's server mode) over real HTTP, through boto3 and django-storages."""

import io
import json
import os
import subprocess
import sys
import zipfile
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends

from recognition.models import Capture, DetectedFace, FacePhoto
from recognition.tasks import delete_expired_captures
from students.export import student_export_zip
from tests.conftest import REPO_ROOT
from tests.factories import make_course, make_session, make_user
from tests.helpers import photo_jpeg, recognised_class_photo
from tests.s3_server import s3_photos, s3_server  # noqa: F401  fixtures

PUBLIC_GRANTEES = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)


def files_on_disk(media_root):
    return sorted(path for path in media_root.rglob("*") if path.is_file()) if media_root.exists() else []


def object_bytes(server, bucket, key):
    return server.client.get_object(Bucket=bucket, Key=key)["Body"].read()


def backdate(bucket, key, delta):
    """Make an object of the local server older, as os.utime does to a file."""
    for backend in s3_backends[DEFAULT_ACCOUNT_ID].values():
        if bucket in backend.buckets:
            backend.buckets[bucket].keys[key].last_modified -= delta
            return
    raise KeyError(bucket)


def test_the_s3_variables_put_photos_in_a_private_bucket_with_no_public_url(s3_server, tmp_path):  # noqa: F811
    bucket = s3_server.new_bucket()
    code = (
        "import django; django.setup()\n"
        "from django.core.files.base import ContentFile\n"
        "from django.core.files.storage import default_storage\n"
        "name = default_storage.save('captures/probe.jpg', ContentFile(b'not really a photo'))\n"
        "print(name); print(default_storage.url(name))\n"
    )
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="attendance_site.settings",
        MEDIA_ROOT=str(tmp_path / "media"),
        **s3_server.environment(bucket),
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    name, url = result.stdout.split()

    assert s3_server.keys(bucket) == [name] == ["captures/probe.jpg"]
    assert not files_on_disk(tmp_path / "media")
    grants = s3_server.client.get_object_acl(Bucket=bucket, Key=name)["Grants"]
    assert not [grant for grant in grants if grant["Grantee"].get("URI") in PUBLIC_GRANTEES]
    assert "Signature" not in url and "X-Amz" not in url  # never a signed URL that works without the site


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_class_photo_in_the_bucket_is_recognised_by_the_worker_and_served_through_the_views(
    client,
    faces_dataset,
    eager_celery,
    s3_photos,
    s3_server,
    private_media_root,  # noqa: F811
):
    students, session, capture, photo = recognised_class_photo(client, faces_dataset)

    assert capture.face_count == 6
    assert dict(session.attendance.values_list("student__full_name", "status")) == {
        "BBT Sheldon": "present",
        "BBT Bernadette": "present",
    }
    assert FacePhoto.objects.filter(status=FacePhoto.ACCEPTED).count() == FacePhoto.objects.count() > 0
    crops = list(DetectedFace.objects.filter(capture=capture).values_list("crop", flat=True))
    assert s3_server.keys(s3_photos, "captures/") == [capture.image.name]
    assert s3_server.keys(s3_photos, "crops/") == sorted(crops) and len(crops) == 6
    assert s3_server.keys(s3_photos, "enrolment/") == sorted(FacePhoto.objects.values_list("image", flat=True))
    assert not files_on_disk(private_media_root)

    served = client.get(reverse("capture_image", args=[capture.pk]))
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == photo
    assert served["Content-Type"] == "image/jpeg" and served["X-Content-Type-Options"] == "nosniff"
    assert served["Cache-Control"] == "private, no-store"
    face = DetectedFace.objects.filter(capture=capture).first()
    crop = client.get(reverse("face_crop_image", args=[face.pk]))
    assert crop.status_code == 200 and crop["Content-Type"] == "image/jpeg"
    assert b"".join(crop.streaming_content) == object_bytes(s3_server, s3_photos, face.crop.name)

    # The permission check still stands in front of the bucket.
    client.force_login(make_user("other_teacher", role="Teacher"))
    assert client.get(reverse("capture_image", args=[capture.pk])).status_code == 404


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_student_exported_and_deleted_takes_their_objects_out_of_the_bucket(
    client,
    faces_dataset,
    eager_celery,
    s3_photos,
    s3_server,  # noqa: F811
):
    students, session, capture, photo = recognised_class_photo(client, faces_dataset)
    sheldon = students["BBT Sheldon"]
    his_photos = sorted(sheldon.face_photos.values_list("image", flat=True))
    his_crops = sorted(sheldon.detections.values_list("crop", flat=True))
    assert his_photos and len(his_crops) == 1

    with zipfile.ZipFile(io.BytesIO(student_export_zip(sheldon))) as archive:
        record = json.loads(archive.read("student.json"))
        exported = [archive.read(entry["file"]) for entry in record["enrolment_photos"]]
        exported_crop = archive.read(record["recognised_in_class_photos"][0]["file"])
    his_photo_keys = sheldon.face_photos.values_list("image", flat=True)  # in the export's order
    assert exported == [object_bytes(s3_server, s3_photos, key) for key in his_photo_keys]
    assert exported_crop == object_bytes(s3_server, s3_photos, his_crops[0])

    others = set(s3_server.keys(s3_photos)) - set(his_photos) - set(his_crops)
    sheldon.delete()

    assert set(s3_server.keys(s3_photos)) == others
    assert not set(his_photos + his_crops) & set(s3_server.keys(s3_photos))


@pytest.mark.django_db(transaction=True)
def test_the_retention_sweep_removes_expired_captures_and_orphaned_crops_from_the_bucket(s3_photos, s3_server):  # noqa: F811
    session = make_session(make_course("RET"))
    jpeg = photo_jpeg()

    def capture_with_a_face():
        capture = Capture(session=session, taken_at=timezone.now())
        capture.image.save("capture.jpg", ContentFile(jpeg))
        face = DetectedFace(capture=capture, x1=0, y1=0, x2=10, y2=10, score=0.99)
        face.crop.save("face.jpg", ContentFile(jpeg))
        return capture, face

    expired, expired_face = capture_with_a_face()
    kept, kept_face = capture_with_a_face()
    Capture.objects.filter(pk=expired.pk).update(created_at=timezone.now() - timedelta(days=31))
    old_orphan = default_storage.save("crops/old-orphan.jpg", ContentFile(jpeg))
    new_orphan = default_storage.save("crops/new-orphan.jpg", ContentFile(jpeg))
    for key in (old_orphan, kept.image.name, kept_face.crop.name):
        backdate(s3_photos, key, timedelta(hours=2))

    assert delete_expired_captures() == {"captures": 1, "orphaned_files": 1}

    assert s3_server.keys(s3_photos) == sorted([kept.image.name, kept_face.crop.name, new_orphan])
