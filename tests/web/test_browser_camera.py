"""The browser camera paths in a real Chromium whose webcam is a fake device playing a real
photo (a Y4M file written from the shared dataset): a teacher's snapshots on the session page,
one click or every N seconds, and a staff member enrolling a student by camera (the shot is
checked by the worker, eager Celery here, while the page polls for the verdict)."""

import time
from datetime import timedelta

import cv2
import numpy as np
from django.utils import timezone
from PIL import Image

from recognition.models import Capture, FacePhoto
from students.consent import record_consent
from students.models import AttendanceRecord, Student
from tests.factories import make_course, make_session, make_student, make_user
from tests.helpers import enrol_identities
from tests.web.conftest import BROWSER_TESTS, log_in
from tests.web.school import BBT_GROUP_PHOTO

pytestmark = BROWSER_TESTS

CLASS = ["BBT_Raj", "BBT_Sheldon", "BBT_Bernadette"]


def write_y4m(path, image_path, scale=1, frames=2, fps=5):
    """A Y4M video (planar YUV 4:2:0, what Chromium's fake webcam plays in a loop) that shows
    the photo at image_path, scaled by `scale` and cut to even sides; returns (path, size)."""
    image = Image.open(image_path).convert("RGB")
    if scale != 1:
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)
    width, height = image.width // 2 * 2, image.height // 2 * 2
    yuv = cv2.cvtColor(np.asarray(image.crop((0, 0, width, height))), cv2.COLOR_RGB2YUV_I420)
    with open(path, "wb") as video:
        video.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            video.write(b"FRAME\n" + yuv.tobytes())
    return path, (width, height)


# Records what the page asks the camera for (and still asks it): the browser's own answer.
RECORD_CONSTRAINTS = """
const ask = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = (constraints) => { window.askedCamera = constraints; return ask(constraints); };
"""


def open_session_with_camera(open_browser, live_server, session, camera):
    page = open_browser(camera=camera)
    page.add_init_script(RECORD_CONSTRAINTS)
    log_in(page, live_server, "teacher")
    page.goto(f"{live_server.url}/sessions/{session.pk}/")
    page.get_by_role("button", name="Start camera").click()
    page.locator("#camera-status").get_by_text("Camera on:").wait_for()
    return page


def test_the_teachers_camera_is_asked_for_its_full_resolution_and_says_what_it_gives(
    open_browser, live_server, faces_dataset, tmp_path
):
    """Browsers give 640 x 480 unless asked: the page asks for 4K and snapshots at what the
    camera gives, here a full-HD class (the class-size photo enlarged)."""
    teacher = make_user("teacher", role="Teacher", first_name="Tess", last_name="Teacher")
    session = make_session(make_course("PHYS1", teacher=teacher))
    camera, (width, height) = write_y4m(tmp_path / "class.y4m", faces_dataset / "group/ultralight_11.jpg", scale=1.88)
    assert width >= 1920

    page = open_session_with_camera(open_browser, live_server, session, camera)

    assert page.evaluate("window.askedCamera.video") == {"width": {"ideal": 3840}, "height": {"ideal": 2160}}
    status = page.locator("#camera-status").inner_text()
    assert status == f"Camera on: {width} × {height} pixels."
    page.get_by_role("button", name="Take snapshot").click()
    page.locator("#upload-log li").first.wait_for()
    capture = Capture.objects.get(session=session)  # no worker: it waits, queued, at its full size
    assert (capture.width, capture.height) == (width, height)
    page.screenshot(path=str(tmp_path / "camera-full-hd.png"), full_page=True)


def wait_until(condition, seconds, page):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s"
        page.wait_for_timeout(200)


def test_a_snapshot_from_the_teachers_camera_marks_the_class(
    open_browser, live_server, faces_dataset, eager_celery, tmp_path
):
    teacher = make_user("teacher", role="Teacher", first_name="Tess", last_name="Teacher")
    course = make_course("PHYS1", teacher=teacher)
    cast = enrol_identities(faces_dataset, CLASS, course, photos_each=2)
    # Started 20 minutes ago, late after 10: whoever the camera sees now is late.
    session = make_session(course, starts_at=timezone.now() - timedelta(minutes=20), late_after_minutes=10)
    camera, size = write_y4m(tmp_path / "class.y4m", faces_dataset / BBT_GROUP_PHOTO)

    page = open_session_with_camera(open_browser, live_server, session, camera)
    # This camera gives little: the page says so.
    advice = "the most this camera gives. Faces far from it may be too small to recognise"
    assert f"Camera on: {size[0]} × {size[1]} pixels, {advice}" in page.locator("#camera-status").inner_text()
    page.get_by_role("button", name="Take snapshot").click()
    page.locator('[data-status="done"] svg polygon').first.wait_for()

    capture = Capture.objects.get(session=session)
    assert (capture.source, capture.status, capture.uploaded_by) == ("camera", "done", teacher)
    assert Image.open(capture.image).size == size  # the camera's full frame, not a thumbnail
    labels = page.locator(".capture.latest .faces .label").all_text_contents()
    marked = set(cast) - {"BBT Raj"}  # Raj's face here (0.315) is only a suggestion ...
    assert set(labels) - {"Unknown"} == marked | {"BBT Raj?"}  # ... labelled as one, in its own style
    assert page.locator(".capture.latest .faces .label.suggested").all_text_contents() == ["BBT Raj?"]
    assert page.locator("svg polygon.box.suggested").count() == 1
    records = AttendanceRecord.objects.filter(session=session)
    assert {(r.student.full_name, r.status, r.source) for r in records} == {(name, "late", "camera") for name in marked}
    roster = page.locator("#roster")
    for name in marked:
        roster.locator("tr", has_text=name).locator(".status-late").wait_for()
    page.screenshot(path=str(tmp_path / "session-camera.png"), full_page=True)


def test_snapshots_every_n_seconds_until_the_box_is_unticked(
    open_browser, live_server, faces_dataset, eager_celery, tmp_path
):
    teacher = make_user("teacher", role="Teacher")
    course = make_course("PHYS1", teacher=teacher)
    enrol_identities(faces_dataset, CLASS, course, photos_each=1)
    session = make_session(course)
    camera, _ = write_y4m(tmp_path / "class.y4m", faces_dataset / BBT_GROUP_PHOTO)
    captures = Capture.objects.filter(session=session)

    page = open_session_with_camera(open_browser, live_server, session, camera)
    # Asked for every second, the page sends one every 5 seconds, the least it allows.
    page.get_by_label("Seconds between snapshots").fill("1")
    page.get_by_label("every").check()
    page.locator("#camera-status").get_by_text("A snapshot every 5 seconds while this page is open.").wait_for()
    ticked = time.monotonic()
    wait_until(lambda: captures.count() >= 2, seconds=20, page=page)
    assert time.monotonic() - ticked >= 2 * 5 - 1

    page.get_by_label("every").uncheck()
    page.locator("#camera-status").get_by_text("A snapshot every").wait_for(state="detached")
    page.wait_for_timeout(500)  # a snapshot already on its way may still arrive
    sent = captures.count()
    page.wait_for_timeout(6_000)  # longer than the interval
    assert captures.count() == sent
    assert set(captures.values_list("source", "status")) == {("camera", "done")}
    assert len(page.locator("#upload-log li:not(.error)").all()) == sent


def test_staff_enrol_a_student_by_camera_one_face_is_kept_a_group_refused(
    open_browser, live_server, faces_dataset, eager_celery, tmp_path
):
    make_user("boss", role="Admin", is_staff=True, is_superuser=True)
    raj = make_student("S1", "Raj Koothrappali")
    record_consent(Student.objects.filter(pk=raj.pk), recorded_by=None, given_by="Raj")
    portrait = sorted((faces_dataset / "identities" / "BBT_Raj").iterdir())[0]
    cameras = {
        "portrait": write_y4m(tmp_path / "portrait.y4m", portrait, scale=3)[0],
        "group": write_y4m(tmp_path / "group.y4m", faces_dataset / BBT_GROUP_PHOTO)[0],
    }

    # A camera that shows the student alone: the shot is kept and shown with the others.
    page = open_browser(camera=cameras["portrait"])
    log_in(page, live_server, "boss")
    page.goto(f"{live_server.url}/students/{raj.pk}/enrol/")
    page.get_by_role("button", name="Start camera").click()
    page.locator("#enrol-result").get_by_text("Camera on: 450 × 450 pixels").wait_for()  # the camera's most
    page.get_by_role("button", name="Take photo").click()
    page.locator("#enrol-result").get_by_text("Accepted and saved.").wait_for()
    photo = FacePhoto.objects.get(student=raj)
    assert (photo.status, Image.open(photo.image).size) == ("accepted", (450, 450))  # embedded, full frame
    assert page.locator("#enrol-shots img").count() == 1
    assert page.locator("#no-shots").count() == 0
    page.screenshot(path=str(tmp_path / "enrol-accepted.png"), full_page=True)

    # A camera that shows a group: refused by the worker, the reason on the page; the shot stays,
    # refused (as the admin shows refused photos), and is never used.
    page = open_browser(camera=cameras["group"])
    log_in(page, live_server, "boss")
    page.goto(f"{live_server.url}/students/{raj.pk}/enrol/")
    page.get_by_role("button", name="Start camera").click()
    page.get_by_role("button", name="Take photo").click()
    result = page.locator("#enrol-result")
    result.get_by_text("Not used:").wait_for()
    assert "faces of similar size" in result.inner_text()
    page.screenshot(path=str(tmp_path / "enrol-refused.png"), full_page=True)
    assert list(FacePhoto.objects.filter(student=raj).exclude(status=FacePhoto.REJECTED)) == [photo]
    refused = FacePhoto.objects.get(student=raj, status=FacePhoto.REJECTED)
    assert "faces of similar size" in refused.rejection_reason and not refused.embeddings.exists()
    assert page.locator("#enrol-shots img").count() == 1
