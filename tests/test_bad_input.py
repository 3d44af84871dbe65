"""Bad input on every route a photo comes in by: the upload page, the API, the admin's enrolment
photo inline, import_students, the enrol-by-camera check and the camera client. Each refusal
tells the person what to do and leaves no capture, no enrolment photo and no file behind; the
awkward but good photos (transparent PNG, phone photo turned by its EXIF tag, no face at all)
go through. The refusals need pixels but no face: their photo is made up (tests.helpers.photo_jpeg),
so they run without the shared dataset; the photos that must be recognised come from it."""

import io
import os
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from PIL import EpsImagePlugin, Image

from recognition.camera_client import CameraClient, describe, run_camera
from recognition.engine.images import load_image
from recognition.models import Capture, FacePhoto
from recognition.processing import process_capture
from students.consent import record_consent
from students.models import Student
from tests.factories import make_course, make_session
from tests.helpers import enrol_identities, photo_jpeg, save_student_with_photo
from tests.web.school import BBT_GROUP_PHOTO, device_token
from tests.web.test_camera_client import write_video

UPLOAD_LIMIT = 2_000_000
PORTRAIT = "identities/BBT_Raj/raj1.jpg"
BBT_GROUP_PEOPLE = {"BBT_Raj": "BBT Raj", "BBT_Sheldon": "BBT Sheldon", "BBT_Bernadette": "BBT Bernadette"}
EXIF_ORIENTATION = 0x0112
# The viewer turns the stored pixels a quarter turn clockwise to show them upright.
ROTATE_CLOCKWISE_FOR_VIEWING = 6


@pytest.fixture(autouse=True)
def small_upload_limit(settings):
    # The real limit is 20 MB; a small one keeps the oversized file small.
    settings.UPLOAD_MAX_BYTES = UPLOAD_LIMIT


@pytest.fixture(autouse=True)
def ghostscript_that_tells(tmp_path, monkeypatch):
    """A `gs` first on the PATH that records each run and fails, as Pillow's EPS reader would
    find it: no upload, on any route, may ever start it. Returns the file a run would write."""
    ran = tmp_path / "gs-ran"
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "gs").write_text(f'#!/bin/sh\necho "$@" >> {ran}\nexit 1\n')
    (folder / "gs").chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(EpsImagePlugin, "gs_binary", None)  # Pillow looks for gs again
    yield ran
    assert not ran.exists(), f"Ghostscript ran: {ran.read_text()}"


@pytest.fixture
def any_photo():
    """A photo to spoil in the ways BAD_FILES do; no face needed, they are refused before detection."""
    return photo_jpeg()


@pytest.fixture
def face_portrait(faces_dataset):
    return (faces_dataset / PORTRAIT).read_bytes()


def png_header(width, height):
    """A PNG that is only its header: a reader learns the pixel count without any pixels."""

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


EPS = b"""%!PS-Adobe-3.0 EPSF-3.0
%%BoundingBox: 0 0 64 48
%%EndComments
0 0 moveto 64 48 lineto stroke
showpage
%%EOF
"""


@cache
def webp_of_6300_pixels_square():
    """40 MP of one colour: 38 bytes as lossless WebP, and the worker's time and memory of a 40 MP photo."""
    return encoded(Image.new("RGB", (6300, 6300), (90, 90, 90)), "WEBP", lossless=True, quality=0, method=0)


def in_format(format):
    return lambda photo: encoded(Image.open(io.BytesIO(photo)), format)


@dataclass(frozen=True)
class BadFile:
    name: str
    make: object  # a good JPEG's bytes -> the file's bytes
    says: str  # part of the message the person must get

    def content(self, photo):
        return self.make(photo)

    def upload(self, photo):
        return SimpleUploadedFile(self.name, self.content(photo), content_type="image/jpeg")


BAD_FILES = [
    pytest.param(
        BadFile("notes.jpg", lambda _: b"Lesson notes: bring calculators.\n", "Upload a JPEG, PNG or WebP image"),
        id="not-an-image",
    ),
    pytest.param(
        BadFile("cut.jpg", lambda photo: photo[: len(photo) // 2], "was not uploaded completely"), id="truncated-jpeg"
    ),
    pytest.param(BadFile("bomb.png", lambda _: png_header(50_000, 50_000), "too many pixels"), id="decompression-bomb"),
    pytest.param(
        BadFile("poster.png", lambda _: png_header(8000, 6000), "8000x6000 pixels (48 MP); the limit is 25 MP"),
        id="over-the-pixel-limit",
    ),
    pytest.param(
        BadFile("tiny.webp", lambda _: webp_of_6300_pixels_square(), "6300x6300 pixels (39.7 MP); the limit is 25 MP"),
        id="a-few-bytes-of-40-megapixels",
    ),
    pytest.param(BadFile("drawing.jpg", lambda _: EPS, "This file is a PostScript (EPS) image"), id="eps"),
    pytest.param(BadFile("scan.tif", in_format("TIFF"), "This file is a TIFF image"), id="tiff"),
    pytest.param(BadFile("scan.bmp", in_format("BMP"), "This file is a BMP image"), id="bmp"),
    pytest.param(BadFile("funny.gif", in_format("GIF"), "This file is a GIF image"), id="gif"),
    # JPEG readers stop at the end-of-image marker: this is a readable photo, only too big.
    pytest.param(
        BadFile("big.jpg", lambda photo: photo + bytes(UPLOAD_LIMIT), "the limit is 2 MB"), id="over-the-size-limit"
    ),
    pytest.param(BadFile("empty.jpg", lambda _: b"", "The file is empty"), id="empty"),
    pytest.param(
        BadFile(
            "IMG_0001.HEIC",
            lambda _: b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64),
            "Convert the photo to JPEG",
        ),
        id="heic",
    ),
]


def stored(media_root):
    """What an upload could leave behind: capture rows, enrolment photo rows, files."""
    files = sorted(path for path in media_root.rglob("*") if path.is_file())
    return Capture.objects.count(), FacePhoto.objects.count(), files


def encoded(image, format, **options):
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def with_transparent_border(jpeg):
    """The photo as a PNG whose outer tenth is fully transparent, as a cut-out would be."""
    image = Image.open(io.BytesIO(jpeg)).convert("RGBA")
    alpha = Image.new("L", image.size, 0)
    width, height = image.size
    alpha.paste(255, (width // 10, height // 10, width - width // 10, height - height // 10))
    image.putalpha(alpha)
    return encoded(image, "PNG")


def turned_with_exif(jpeg):
    """The photo as a phone stores it when held sideways: pixels a quarter turn anticlockwise,
    and an EXIF tag telling viewers to turn them back."""
    image = Image.open(io.BytesIO(jpeg))
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = ROTATE_CLOCKWISE_FOR_VIEWING
    return encoded(image.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=95, exif=exif)


def empty_classroom():
    """A photo with no face in it: a wall and a board."""
    image = Image.linear_gradient("L").resize((640, 480)).convert("RGB")
    image.paste((30, 60, 40), (120, 80, 520, 300))
    return encoded(image, "JPEG")


def as_caller(client, school, caller):
    """Sign in as the session page does (a teacher's login) or as a classroom camera (a device token)."""
    if caller == "teacher page":
        client.force_login(school.teacher)
        return {}
    _, token = device_token(course=school.course)
    return {"HTTP_AUTHORIZATION": f"Token {token}"}


def upload_capture(client, session, upload, headers=None):
    return client.post(f"/api/sessions/{session.pk}/captures/", {"image": upload}, **(headers or {}))


# ---- the upload page and the API: one endpoint, a teacher's login or a device token ----


@pytest.mark.parametrize("caller", ["teacher page", "device API"])
@pytest.mark.parametrize("bad", BAD_FILES)
def test_an_upload_is_refused_with_advice_and_nothing_stored(
    client, school, private_media_root, any_photo, caller, bad
):
    headers = as_caller(client, school, caller)
    before = stored(private_media_root)
    response = upload_capture(client, school.session, bad.upload(any_photo), headers)
    assert response.status_code == 400
    # session.js shows body.image[0] in the upload log; the camera prints it.
    assert bad.says in response.json()["image"][0]
    assert stored(private_media_root) == before


def test_the_ghostscript_trap_catches_pillows_eps_reader(ghostscript_that_tells):
    # What an upload must never do: Pillow, left to guess the format, hands EPS to gs.
    with pytest.raises(Exception):  # noqa: B017, PT011 - the fake gs fails; only that it ran matters
        Image.open(io.BytesIO(EPS)).load()
    assert ghostscript_that_tells.exists()
    ghostscript_that_tells.unlink()


@pytest.mark.parametrize("caller", ["teacher page", "device API"])
def test_an_eps_upload_is_refused_before_ghostscript_could_run(client, school, ghostscript_that_tells, caller):
    headers = as_caller(client, school, caller)
    upload = SimpleUploadedFile("class.jpg", EPS, content_type="image/jpeg")
    response = upload_capture(client, school.session, upload, headers)
    assert response.status_code == 400
    assert "PostScript (EPS)" in response.json()["image"][0]
    assert not ghostscript_that_tells.exists()


# ---- the admin's enrolment photo inline on the student page ----


def inline_errors(response):
    return [form.errors for form in response.context["inline_admin_formsets"][0].formset.forms]


@pytest.mark.parametrize("bad", BAD_FILES)
def test_the_admin_inline_refuses_a_bad_enrolment_photo_with_advice(client, school, private_media_root, any_photo, bad):
    client.force_login(school.admin)
    before = stored(private_media_root)
    response = save_student_with_photo(client, school.ada, bad.upload(any_photo))
    assert response.status_code == 200  # the form again, not a redirect
    [errors] = inline_errors(response)
    assert bad.says in errors["image"][0]
    assert stored(private_media_root) == before


def test_the_admin_inline_takes_a_transparent_png(client, school, any_photo):
    client.force_login(school.admin)
    png = SimpleUploadedFile("cut-out.png", with_transparent_border(any_photo), content_type="image/png")
    assert save_student_with_photo(client, school.ada, png).status_code == 302
    photo = FacePhoto.objects.get(student=school.ada)
    assert photo.status == FacePhoto.PENDING and len(photo.content_sha256) == 64


@pytest.mark.parametrize("bad", BAD_FILES)
def test_the_admins_own_photo_page_refuses_a_bad_enrolment_photo_too(
    client, school, private_media_root, any_photo, bad
):
    client.force_login(school.admin)
    before = stored(private_media_root)
    response = client.post(
        "/admin/recognition/facephoto/add/", {"student": school.ada.pk, "image": bad.upload(any_photo), "_save": "Save"}
    )
    assert response.status_code == 200
    assert bad.says in response.context["adminform"].form.errors["image"][0]
    assert not FacePhoto.objects.filter(student=school.ada).exists()
    assert stored(private_media_root) == before


# ---- import_students ----


@pytest.mark.django_db
@pytest.mark.parametrize("bad", BAD_FILES)
def test_import_reports_a_bad_photo_by_path_and_skips_it(tmp_path, private_media_root, any_photo, capsys, bad):
    folder = tmp_path / "import" / "Jane_Doe"
    folder.mkdir(parents=True)
    (folder / bad.name).write_bytes(bad.content(any_photo))
    (folder / "cut-out.png").write_bytes(with_transparent_border(any_photo))
    before_photos = FacePhoto.objects.count()

    call_command("import_students", str(folder.parent))

    out, err = capsys.readouterr()
    assert f"Skipped {folder / bad.name}: " in err and bad.says in err
    assert "1 new photo(s); 1 file(s) skipped" in out
    [photo] = FacePhoto.objects.filter(student__full_name="Jane Doe")
    assert photo.image.name.endswith(".png") and FacePhoto.objects.count() == before_photos + 1
    assert [path.name for path in private_media_root.rglob("*") if path.is_file()] == [
        photo.image.name.rsplit("/", 1)[-1]
    ]


# ---- enrolling by camera: each shot is checked at once ----


@pytest.fixture
def consenting_ada(school):
    record_consent(Student.objects.filter(pk=school.ada.pk), school.admin, "Ada")
    return school.ada


def enrol_check(client, student, upload):
    return client.post(f"/students/{student.pk}/enrol/check/", {"image": upload})


@pytest.mark.slow
@pytest.mark.parametrize("bad", BAD_FILES)
def test_the_enrol_by_camera_check_refuses_a_bad_shot_with_advice(
    client, school, consenting_ada, private_media_root, any_photo, bad
):
    client.force_login(school.admin)
    before = stored(private_media_root)
    response = enrol_check(client, consenting_ada, bad.upload(any_photo))
    assert response.status_code == 400
    assert response.json()["accepted"] is False and bad.says in response.json()["reason"]
    assert stored(private_media_root) == before


def checked_by_the_worker(client, student, upload, django_capture_on_commit_callbacks):
    """The worker's verdict on a shot (eager Celery runs its task after the request's commit)."""
    with django_capture_on_commit_callbacks(execute=True):
        response = enrol_check(client, student, upload)
    assert response.status_code == 202, response.json()
    return client.get(response.json()["status_url"]).json()


@pytest.mark.slow
def test_the_enrol_by_camera_check_takes_a_transparent_png_and_a_turned_phone_photo(
    client, school, consenting_ada, face_portrait, eager_celery, django_capture_on_commit_callbacks
):
    client.force_login(school.admin)
    for name, content in [
        ("cut-out.png", with_transparent_border(face_portrait)),
        ("phone.jpg", turned_with_exif(face_portrait)),
    ]:
        verdict = checked_by_the_worker(
            client, consenting_ada, SimpleUploadedFile(name, content), django_capture_on_commit_callbacks
        )
        assert verdict["accepted"] is True, verdict
    assert FacePhoto.objects.filter(student=consenting_ada, status=FacePhoto.ACCEPTED).count() == 2


@pytest.mark.slow
def test_the_enrol_by_camera_check_says_when_a_shot_shows_no_face(
    client, school, consenting_ada, eager_celery, django_capture_on_commit_callbacks
):
    client.force_login(school.admin)
    verdict = checked_by_the_worker(
        client, consenting_ada, SimpleUploadedFile("wall.jpg", empty_classroom()), django_capture_on_commit_callbacks
    )
    assert verdict["accepted"] is False and "No face was found in this photo" in verdict["reason"]
    assert FacePhoto.objects.get(student=consenting_ada).status == FacePhoto.REJECTED


# ---- the camera client against a live server ----


@pytest.fixture
def camera_session(db):
    course = make_course("PHYS1")
    _, token = device_token(course=course)
    return make_session(course), token


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("bad", BAD_FILES)
def test_the_camera_prints_the_servers_refusal_and_sends_nothing_more(
    live_server, camera_session, private_media_root, any_photo, bad
):
    session, token = camera_session
    lines = []
    client = CameraClient(live_server.url, token, session.pk, out=lines.append, backoff=())
    before = stored(private_media_root)
    assert client.send_snapshot(bad.content(any_photo), datetime.now(UTC)) is None
    [line] = lines
    assert line.startswith("The server refused the snapshot: ") and bad.says in line
    assert stored(private_media_root) == before


@pytest.mark.django_db(transaction=True)
def test_the_camera_carries_on_after_a_refused_snapshot(live_server, camera_session, tmp_path, settings):
    session, token = camera_session
    settings.UPLOAD_MAX_BYTES = 1000  # every frame of the video is over it
    (tmp_path / "class.jpg").write_bytes(photo_jpeg())
    video = write_video(tmp_path / "class.avi", tmp_path / "class.jpg", frames=2)
    lines = []
    client = CameraClient(live_server.url, token, session.pk, out=lines.append, backoff=())
    assert run_camera(client, str(video), interval=1) == 2
    assert [line.split(":")[0] for line in lines[1:]] == ["The server refused the snapshot"] * 2
    assert lines[0].startswith(f"Video source {video}: snapshots of")  # said once, first
    assert not Capture.objects.exists()


# ---- good photos that look odd: they must work, end to end ----

GOOD_CLASS_PHOTOS = [
    pytest.param("phone.jpg", turned_with_exif, id="exif-turned-phone-photo"),
    pytest.param("cut-out.png", with_transparent_border, id="png-with-alpha"),
]


@pytest.mark.slow
@pytest.mark.parametrize("name, prepare", GOOD_CLASS_PHOTOS)
def test_an_odd_but_good_class_photo_is_recognised_upright(client, school, faces_dataset, name, prepare):
    enrol_identities(faces_dataset, list(BBT_GROUP_PEOPLE), school.course)
    original = (faces_dataset / BBT_GROUP_PHOTO).read_bytes()
    content = prepare(original)
    assert load_image(io.BytesIO(content)).size == Image.open(io.BytesIO(original)).size
    client.force_login(school.teacher)

    response = upload_capture(client, school.session, SimpleUploadedFile(name, content))
    assert response.status_code == 202, response.json()
    process_capture(response.json()["id"])

    capture = client.get(response.json()["url"]).json()
    assert capture["status"] == "done", capture["error"]
    recognised = {face["student"]["full_name"] for face in capture["faces"] if face["student"]}
    assert recognised == set(BBT_GROUP_PEOPLE.values())
    assert dict(school.session.attendance.values_list("student__full_name", "status")) == {
        name: "present" for name in BBT_GROUP_PEOPLE.values()
    }
    # The boxes are in the upright photo's pixels, and the page draws the photo in that shape
    # (1000 units wide, so its labels are sized alike for every photo).
    width, height = Image.open(io.BytesIO(original)).size
    assert all(face["box"][2] <= width + 20 and face["box"][3] <= height + 20 for face in capture["faces"])
    page = client.get(f"/sessions/{school.session.pk}/").content.decode()
    drawn = f'<image href="/files/captures/{capture["id"]}/" width="1000" height="{round(1000 * height / width)}"/>'
    assert drawn in page


@pytest.mark.slow
def test_a_photo_with_no_face_is_done_with_no_faces_not_failed(client, school):
    client.force_login(school.teacher)
    response = upload_capture(client, school.session, SimpleUploadedFile("wall.jpg", empty_classroom()))
    assert response.status_code == 202
    process_capture(response.json()["id"])

    capture = client.get(response.json()["url"]).json()
    assert (capture["status"], capture["error"], capture["face_count"], capture["faces"]) == ("done", "", 0, [])
    assert describe(capture) == f"Capture {capture['id']}: no face found in {capture['timings']['total_ms']:.0f} ms."
    page = client.get(f"/sessions/{school.session.pk}/").content.decode()
    assert "No face was found in this photo." in page and "Recognition failed" not in page
