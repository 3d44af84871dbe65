"""The classroom camera client against a live test server, with a real video file as its
camera: real frames of a class (a group photo), real recognition, real HTTP. Where nothing is
recognised, the frames are a made-up photo (tests.helpers.photo_jpeg): no dataset needed."""

import cv2
import numpy as np
import pytest
from django.core.management import CommandError, call_command

from recognition.camera_client import CameraClient, describe, open_video, resolution_line, run_camera
from recognition.models import Capture
from students.models import AttendanceRecord
from tests.factories import make_course, make_session
from tests.helpers import enrol_identities, photo_jpeg
from tests.web.school import BBT, BBT_GROUP_PHOTO, device_token

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def write_video(path, image_path, frames=3, fps=1):
    """A video of `frames` seconds of one real photo, as a camera would film a still class."""
    frame = cv2.imread(str(image_path))
    height, width = frame.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    for _ in range(frames):
        writer.write(frame)
    writer.release()
    return path


@pytest.fixture
def classroom(tmp_path):
    """A course, its session and a video of a made-up photo: for the camera's HTTP, not recognition."""
    course = make_course("PHYS1")
    (tmp_path / "class.jpg").write_bytes(photo_jpeg())
    return course, make_session(course), write_video(tmp_path / "class.avi", tmp_path / "class.jpg")


def test_the_camera_sends_snapshots_and_prints_who_was_recognised(
    faces_dataset, live_server, tmp_path, eager_celery, capsys
):
    course = make_course("PHYS1")
    enrol_identities(faces_dataset, BBT, course, photos_each=2)
    session = make_session(course)
    video = write_video(tmp_path / "class.avi", faces_dataset / BBT_GROUP_PHOTO)
    device, token = device_token(course=course)
    call_command(
        "camera",
        server=live_server.url,
        token=token,
        session=session.pk,
        source=str(video),
        interval=1,
        max_snapshots=2,
    )
    out = capsys.readouterr().out
    captures = list(Capture.objects.filter(session=session).order_by("pk"))
    assert len(captures) == 2
    assert all(
        capture.device == device and capture.source == "camera" and capture.status == "done" for capture in captures
    )
    seen = set(AttendanceRecord.objects.filter(session=session).values_list("student__full_name", flat=True))
    # Raj's face in this photo (0.315) is only a suggestion under the dlib operating point.
    assert seen == {"BBT Sheldon", "BBT Bernadette"}, out
    for name in seen:
        assert name in out
    assert f"Capture {captures[0].pk}: " in out and "Stopped after 2 snapshot(s)." in out
    # The resolution in use, said once, with advice: this one is small for a classroom.
    height, width = cv2.VideoCapture(str(video)).read()[1].shape[:2]  # the file's frames (710 x 472)
    assert out.count(f"Video source {video}: snapshots of {width} x {height} pixels. Faces far from") == 1
    assert captures[0].width == width


def test_the_camera_stops_at_the_end_of_a_video_file(live_server, classroom, capsys):
    course, session, video = classroom
    _, token = device_token(course=course)
    # Without a worker the captures stay queued: the camera says so and moves on.
    client = CameraClient(live_server.url, token, session.pk, out=print, poll_timeout=0)
    assert run_camera(client, str(video), interval=1) == 3
    assert Capture.objects.filter(session=session, status="queued").count() == 3
    assert capsys.readouterr().out.count("is still queued") == 3


def test_the_camera_rides_out_an_unreachable_server_without_crashing(classroom, capsys):
    _, session, video = classroom
    waits = []
    client = CameraClient(
        "http://127.0.0.1:9", "any-token", session.pk, out=print, sleep=waits.append, backoff=(1, 2, 4)
    )
    assert run_camera(client, str(video), interval=1, max_snapshots=2) == 2
    out = capsys.readouterr().out
    assert waits == [1, 2, 4, 1, 2, 4]
    assert out.count("Snapshot not sent: could not reach the server") == 2


def test_a_wrong_token_stops_the_camera_with_a_reason(live_server, classroom):
    _, session, video = classroom
    with pytest.raises(CommandError, match="refused the device token"):
        call_command("camera", server=live_server.url, token="wrong", session=session.pk, source=str(video), interval=1)
    assert not Capture.objects.exists()


def test_a_device_of_another_room_cannot_send_to_the_session(live_server, classroom):
    _, session, video = classroom
    _, token = device_token(room="Somewhere else")
    with pytest.raises(CommandError, match=f"Session {session.pk} does not exist or this device may not send to it"):
        call_command("camera", server=live_server.url, token=token, session=session.pk, source=str(video), interval=1)
    assert not Capture.objects.exists()


class StandInWebcam:
    """A webcam that this machine does not have, for what the client asks of it: it sends the
    nearest of its modes to the resolution asked, as a real one does."""

    MODES = [(640, 480), (1280, 720), (1920, 1080)]

    def __init__(self, index):
        self.index, self.asked = index, {}

    def isOpened(self):
        return True

    def set(self, prop, value):
        self.asked[prop] = value
        return True

    def mode(self):
        wanted = (self.asked.get(cv2.CAP_PROP_FRAME_WIDTH, 640), self.asked.get(cv2.CAP_PROP_FRAME_HEIGHT, 480))
        return min(self.MODES, key=lambda mode: abs(mode[0] - wanted[0]) + abs(mode[1] - wanted[1]))


def test_a_webcam_is_asked_for_its_full_resolution_not_the_640_x_480_it_starts_at():
    webcam = open_video("0", opener=StandInWebcam)
    assert webcam.index == 0 and webcam.mode() == (1920, 1080)
    assert webcam.asked == {cv2.CAP_PROP_FRAME_WIDTH: 3840, cv2.CAP_PROP_FRAME_HEIGHT: 2160}
    assert open_video("0", (1280, 720), opener=StandInWebcam).mode() == (1280, 720)


def test_the_camera_says_the_resolution_it_sends_and_when_faces_are_too_small():
    full_hd = np.zeros((1080, 1920, 3), np.uint8)
    assert resolution_line("0", full_hd) == "Video source 0: snapshots of 1920 x 1080 pixels."
    assert "too small to recognise" in resolution_line("0", full_hd[:480, :640])

    def capture(*sides):
        faces = [{"box": [0, 0, side, side], "student": None} for side in sides]
        return {"id": 7, "status": "done", "timings": {"total_ms": 900}, "faces": faces}

    advice = "Most faces are under 30 px: move closer or use a higher resolution"
    assert describe(capture(24, 26, 60)).endswith(advice) and advice not in describe(capture(24, 60))


def test_the_camera_command_takes_a_resolution_to_ask_for(classroom):
    _, session, video = classroom
    with pytest.raises(CommandError, match="is not WIDTHxHEIGHT"):
        call_command("camera", "--resolution=big", server="http://127.0.0.1:9", token="t", source=str(video))
