"""Uploaded face images are stored and served as the images they are, never as pages; a photo
with damaged metadata neither breaks a page nor is refused; every upload route goes through one
check and every enrolment photo through add_enrolment_photo."""

import io
from importlib import import_module

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from recognition.engine.images import ImageRejected, check_upload, load_image
from recognition.enrolment import add_enrolment_photo
from recognition.models import Capture, DetectedFace, FacePhoto, capture_path
from recognition.processing import process_capture
from tests.helpers import save_student_with_photo
from tests.web.school import (
    BBT_GROUP_PHOTO,
    device_token,
    school,  # noqa: F401 - a fixture
)

EXIF_ORIENTATION = 0x0112
BROKEN_EXIF = b"Exif\0\0NOTATIFFHEADER"
SCRIPT = b"<script>fetch('/api/sessions/1/attendance/', {method: 'POST'})</script>"


def encoded(image, format, **options):
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def a_photo(size=(320, 240)):
    return Image.linear_gradient("L").resize(size).convert("RGB")


def jpeg_with_script():
    """A valid JPEG whose comment segment is an HTML page: a browser told it is text/html runs it."""
    return encoded(a_photo(), "JPEG", comment=b"<html><body>" + SCRIPT + b"</body></html>")


def jpeg_with_broken_exif(image=None):
    return encoded(image or a_photo(), "JPEG", dpi=(72, 72), exif=BROKEN_EXIF)


def turned_jpeg(size=(320, 240)):
    """Stored pixels turned a quarter, and the EXIF tag that turns them back for viewing."""
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    return encoded(a_photo(size).transpose(Image.Transpose.ROTATE_90), "JPEG", exif=exif)


def camera_upload(client, session, name, content):
    _, token = device_token(course=session.course)
    return client.post(
        f"/api/sessions/{session.pk}/captures/",
        {"image": SimpleUploadedFile(name, content, content_type="text/html")},
        HTTP_AUTHORIZATION=f"Token {token}",
    )


def assert_served_as(response, content_type, filename):
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == f'inline; filename="{filename}"'
    assert "sandbox" in response["Content-Security-Policy"]
    assert "default-src 'none'" in response["Content-Security-Policy"]


# ---- 1. a file is stored under its decoded format and served as that image ----


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["snap.html", "snap.svg", "snap"])
def test_a_camera_upload_named_as_a_page_is_stored_and_served_as_the_jpeg_it_is(client, school, name):
    response = camera_upload(client, school.session, name, jpeg_with_script())
    assert response.status_code == 202, response.content
    capture = Capture.objects.get(pk=response.json()["id"])
    assert capture.image.name.startswith("captures/") and capture.image.name.endswith(".jpg")

    client.force_login(school.teacher)
    served = client.get(f"/files/captures/{capture.pk}/")
    assert_served_as(served, "image/jpeg", f"capture-{capture.pk}.jpg")
    assert b"".join(served.streaming_content) == jpeg_with_script()


@pytest.mark.django_db
def test_an_svg_is_not_a_photo(client, school):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'
    response = camera_upload(client, school.session, "snap.svg", svg)
    assert response.status_code == 400
    assert "Upload a JPEG, PNG or WebP image" in response.json()["image"][0]
    assert not Capture.objects.exists()


def stored_capture(session, name, content, **fields):
    """A capture whose file was stored under `name`, as files were before names followed the format."""
    capture = Capture(session=session, taken_at=session.starts_at, **fields)
    capture.image.name = default_storage.save(name, ContentFile(content))
    capture.save()
    return capture


@pytest.mark.django_db
def test_a_file_stored_under_an_old_html_name_is_served_by_its_bytes(client, school):
    capture = stored_capture(school.session, "captures/0123abcd.html", jpeg_with_script())
    client.force_login(school.teacher)
    assert_served_as(client.get(f"/files/captures/{capture.pk}/"), "image/jpeg", f"capture-{capture.pk}.jpg")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "content",
    [
        b"<html><body>" + SCRIPT + b"</body></html>",
        b'<svg xmlns="http://www.w3.org/2000/svg">' + SCRIPT + b"</svg>",
        encoded(a_photo(), "GIF"),
    ],
    ids=["html", "svg", "gif"],
)
def test_a_stored_file_that_is_not_a_jpeg_png_or_webp_is_not_served(client, school, content):
    capture = stored_capture(school.session, "captures/0123abcd.jpg", content)
    face = DetectedFace(capture=capture, x1=1, y1=1, x2=9, y2=9, score=0.9)
    face.crop.name = default_storage.save("crops/0123abcd.jpg", ContentFile(content))
    face.save()
    client.force_login(school.teacher)
    assert client.get(f"/files/captures/{capture.pk}/").status_code == 404
    assert client.get(f"/files/faces/{face.pk}/").status_code == 404


@pytest.mark.django_db
def test_enrolment_photos_and_crops_are_served_with_the_type_of_their_bytes(client, school):
    png = encoded(Image.new("RGBA", (64, 64), (200, 100, 50, 128)), "PNG")
    photo, created = add_enrolment_photo(school.ada, png, source=FacePhoto.ADMIN)
    assert created and photo.image.name.endswith(".png")
    capture = stored_capture(school.session, "captures/x.jpg", encoded(a_photo(), "WEBP"))
    face = DetectedFace(capture=capture, x1=1, y1=1, x2=9, y2=9, score=0.9)
    face.crop.save("face.jpg", ContentFile(encoded(a_photo((40, 40)), "JPEG")), save=False)
    face.save()

    client.force_login(school.admin)
    assert_served_as(client.get(f"/files/enrolment/{photo.pk}/"), "image/png", f"enrolment-photo-{photo.pk}.png")
    assert_served_as(client.get(f"/files/captures/{capture.pk}/"), "image/webp", f"capture-{capture.pk}.webp")
    assert_served_as(client.get(f"/files/faces/{face.pk}/"), "image/jpeg", f"face-{face.pk}.jpg")


def test_a_file_name_never_keeps_the_uploaders_extension():
    with pytest.raises(ValueError):
        capture_path(None, "snap.html")
    assert capture_path(None, "capture.webp").endswith(".webp")


@pytest.mark.django_db
@pytest.mark.parametrize("format", ["TIFF", "BMP", "GIF"])
def test_a_format_no_camera_takes_is_refused_by_name_on_upload_and_enrolment(client, school, format):
    # Once converted to JPEG; now refused before any decoder runs: no phone or camera saves
    # these, and each is a decoder more for anyone's upload to reach.
    content = encoded(a_photo(), format)
    client.force_login(school.teacher)
    response = client.post(
        f"/api/sessions/{school.session.pk}/captures/", {"image": SimpleUploadedFile(f"scan.{format.lower()}", content)}
    )
    assert response.status_code == 400
    assert f"This file is a {format} image" in response.json()["image"][0]
    assert not Capture.objects.exists()
    with pytest.raises(ImageRejected, match=f"{format} image"):
        add_enrolment_photo(school.ada, content, source=FacePhoto.ADMIN)
    assert not FacePhoto.objects.exists()


def test_a_phones_multi_picture_jpeg_is_kept_as_it_is():
    first, second = a_photo(), a_photo((160, 120))
    mpo = encoded(first, "MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(mpo)).format == "MPO"
    checked = check_upload(io.BytesIO(mpo), len(mpo), limit=10_000_000)
    assert (checked.content, checked.extension, checked.width, checked.height) == (mpo, "jpg", 320, 240)


# ---- 2. damaged metadata ----


def test_a_broken_exif_block_is_read_as_no_orientation():
    content = jpeg_with_broken_exif()
    checked = check_upload(io.BytesIO(content), len(content), limit=10_000_000)
    assert (checked.extension, checked.width, checked.height) == ("jpg", 320, 240)
    assert load_image(io.BytesIO(content)).size == (320, 240)
    turned = turned_jpeg()
    assert Image.open(io.BytesIO(turned)).size == (240, 320)
    assert check_upload(io.BytesIO(turned), len(turned), limit=10_000_000).width == 320


def done_capture(client, school, content):
    client.force_login(school.teacher)
    response = client.post(
        f"/api/sessions/{school.session.pk}/captures/", {"image": SimpleUploadedFile("snap.jpg", content)}
    )
    assert response.status_code == 202, response.content
    Capture.objects.filter(pk=response.json()["id"]).update(status=Capture.DONE)
    return Capture.objects.get(pk=response.json()["id"])


@pytest.mark.django_db
def test_a_photo_with_a_broken_exif_block_does_not_break_the_session_page(client, school):
    capture = done_capture(client, school, jpeg_with_broken_exif())
    page = client.get(f"/sessions/{school.session.pk}/")
    assert page.status_code == 200
    assert f'<image href="/files/captures/{capture.pk}/" width="1000" height="750"/>' in page.content.decode()


@pytest.mark.django_db
def test_the_session_page_does_not_open_image_files(client, school):
    capture = done_capture(client, school, turned_jpeg())
    default_storage.delete(capture.image.name)
    page = client.get(f"/sessions/{school.session.pk}/")
    assert page.status_code == 200
    assert f'<image href="/files/captures/{capture.pk}/" width="1000" height="750"/>' in page.content.decode()


@pytest.mark.slow
@pytest.mark.django_db
def test_the_worker_stores_the_upright_size_of_a_class_photo_with_a_broken_exif_block(client, school, faces_dataset):
    group = Image.open(faces_dataset / BBT_GROUP_PHOTO).convert("RGB")
    capture = done_capture(client, school, jpeg_with_broken_exif(group))
    Capture.objects.filter(pk=capture.pk).update(status=Capture.QUEUED, width=None, height=None)
    process_capture(capture.pk)
    capture.refresh_from_db()
    assert (capture.status, capture.width, capture.height) == (Capture.DONE, *group.size)
    assert capture.faces.count() >= 3
    page = client.get(f"/sessions/{school.session.pk}/")
    assert page.status_code == 200
    assert f'width="1000" height="{round(1000 * group.height / group.width)}"/>' in page.content.decode()


@pytest.mark.django_db
def test_the_migration_gives_stored_captures_their_upright_size_tolerantly(client, school):
    broken = stored_capture(school.session, "captures/a.jpg", jpeg_with_broken_exif(), status=Capture.DONE)
    turned = stored_capture(school.session, "captures/b.jpg", turned_jpeg(), status=Capture.DONE)
    gone = stored_capture(school.session, "captures/c.jpg", jpeg_with_broken_exif(), status=Capture.DONE)
    not_an_image = stored_capture(school.session, "captures/d.html", b"<html></html>", status=Capture.DONE)
    default_storage.delete(gone.image.name)

    import_module("recognition.migrations.0003_capture_upright_size").store_upright_sizes(apps, None)

    sizes = dict(Capture.objects.values_list("pk", "width"))
    assert sizes == {broken.pk: 320, turned.pk: 320, gone.pk: None, not_an_image.pk: None}
    assert Capture.objects.get(pk=turned.pk).height == 240
    client.force_login(school.teacher)
    # Both opened (an earlier photo is drawn only when opened).
    page = client.get(f"/sessions/{school.session.pk}/?photo={gone.pk}&photo={not_an_image.pk}")
    assert page.status_code == 200
    assert page.content.decode().count("could not be read, so it is not shown") == 2


# ---- one check for every upload, one way in for every enrolment photo ----


@pytest.mark.django_db
def test_the_admin_inline_adds_a_photo_once_named_by_its_format(client, school):
    client.force_login(school.admin)
    png = encoded(a_photo(), "PNG")
    for _ in range(2):
        response = save_student_with_photo(
            client, school.ada, SimpleUploadedFile("me.html", png, content_type="text/html")
        )
        assert response.status_code == 302, response.context["inline_admin_formsets"][0].formset.errors
    [photo] = FacePhoto.objects.filter(student=school.ada)
    assert photo.image.name.endswith(".png") and photo.status == FacePhoto.PENDING


@pytest.mark.django_db
def test_the_admins_photo_page_adds_through_the_same_path(client, school):
    client.force_login(school.admin)
    webp = encoded(a_photo(), "WEBP")
    add_enrolment_photo(school.ada, webp, source=FacePhoto.ADMIN)
    response = client.post(
        "/admin/recognition/facephoto/add/",
        {"student": school.ada.pk, "image": SimpleUploadedFile("me.jpg", webp), "_save": "Save"},
    )
    assert response.status_code == 302
    [photo] = FacePhoto.objects.filter(student=school.ada)
    assert photo.image.name.endswith(".webp")


# ---- the Content-Security-Policy of every page ----


@pytest.mark.django_db
def test_every_page_has_a_policy_that_runs_no_inline_script_or_style(client, school):
    capture = done_capture(client, school, jpeg_with_script())
    client.force_login(school.admin)
    for url in [
        "/",
        f"/courses/{school.course.pk}/",
        f"/sessions/{school.session.pk}/",
        f"/students/{school.ada.pk}/enrol/",
        f"/admin/students/student/{school.ada.pk}/change/",
        "/api/docs/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
        assert policy["script-src"] == policy["style-src"] == "'self'", url
        assert policy["object-src"] == policy["base-uri"] == policy["frame-ancestors"] == "'none'", url
        assert "unsafe" not in response["Content-Security-Policy"], url
        page = response.content.decode()
        if not url.startswith("/admin/"):
            assert " style=" not in page and "<script>" not in page, url
    assert f"/files/captures/{capture.pk}/" in client.get(f"/sessions/{school.session.pk}/").content.decode()
    client.force_login(school.ada_user)
    assert "script-src 'self'" in client.get("/me/attendance/")["Content-Security-Policy"]
    client.logout()
    assert "script-src 'self'" in client.get("/login/")["Content-Security-Policy"]
