"""The classroom camera client: read frames with OpenCV, send a JPEG snapshot to the server
every interval, and print what the server recognised in it.

Plain functions over `requests` and OpenCV, no Django: `manage.py camera` runs it, and it runs
just as well on a small computer beside the camera with only this file and its two libraries.
"""

import time
from datetime import UTC, datetime
from pathlib import Path

import cv2
import requests

FINISHED = ("done", "failed")
# Waits between tries while the server is unreachable: brief outages (a restart, a Wi-Fi hiccup)
# are ridden out; after the last one the snapshot is given up and the camera carries on.
BACKOFF_SECONDS = (1, 2, 4, 8, 15, 30)
POLL_SECONDS = 1.0
POLL_TIMEOUT_SECONDS = 120
REQUEST_TIMEOUT_SECONDS = 30
# A webcam sends 640 x 480 unless asked for more, and faces at the back of a classroom need every
# pixel: ask for 4K, and the camera gives the nearest it offers.
FULL_RESOLUTION = (3840, 2160)
# Under this width a classroom's back rows are too small to recognise (issue 17's geometry: a
# 1080p camera gives ~25-30 px faces from the front of an 8 m room).
SMALL_WIDTH = 1280
# A face whose shorter side is under this is too small to recognise reliably (as the session
# page says of a photo whose faces mostly are).
SMALL_FACE_PX = 30


def worth_retrying(status):
    # A server error (restarting, a database busy) or too many photos a minute: both pass.
    return status >= 500 or status == 429


class CameraError(Exception):
    """Something a person must fix (a wrong token, session or source): the camera stops."""


class Unreachable(Exception):
    """The server did not answer after every retry."""


class CameraClient:
    def __init__(
        self,
        server,
        token,
        session_id=None,
        out=print,
        sleep=time.sleep,
        backoff=BACKOFF_SECONDS,
        poll_timeout=POLL_TIMEOUT_SECONDS,
    ):
        self.server = server.rstrip("/")
        self.session_id = session_id
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Token {token}"
        self.out = out
        self.sleep = sleep
        self.backoff = backoff
        self.poll_timeout = poll_timeout

    def request(self, method, url, **kwargs):
        """One API call, retried with backoff while the server is unreachable or restarting."""
        for wait in (*self.backoff, None):
            try:
                response = self.http.request(method, url, timeout=REQUEST_TIMEOUT_SECONDS, **kwargs)
                if not worth_retrying(response.status_code):
                    return response
                problem = f"the server answered {response.status_code}"
            except (requests.ConnectionError, requests.Timeout) as error:
                problem = f"could not reach the server ({type(error).__name__})"
            if wait is None:
                raise Unreachable(problem)
            self.out(f"{problem}; retrying in {wait} s")
            self.sleep(wait)

    @property
    def upload_url(self):
        # Without a session the server picks the one on now in the device's room.
        if self.session_id is None:
            return f"{self.server}/api/captures/"
        return f"{self.server}/api/sessions/{self.session_id}/captures/"

    def send_snapshot(self, jpeg, taken_at):
        """Send one snapshot; returns the capture (a dict), or None when the server refused it
        (a bad image or time, or no session on in the room now)."""
        url = self.upload_url
        files = {"image": ("snapshot.jpg", jpeg, "image/jpeg")}
        response = self.request("POST", url, files=files, data={"taken_at": taken_at.isoformat()})
        if response.status_code in (401, 403):
            raise CameraError(f"The server refused the device token: {detail(response)}")
        if response.status_code == 404:
            raise CameraError(f"Session {self.session_id} does not exist or this device may not send to it.")
        if response.status_code in (400, 409):
            self.out(f"The server refused the snapshot: {detail(response)}")
            return None
        response.raise_for_status()
        return response.json()

    def wait_for_result(self, capture):
        """Poll a capture until the server has recognised it (or failed to)."""
        deadline = time.monotonic() + self.poll_timeout
        while capture["status"] not in FINISHED and time.monotonic() < deadline:
            self.sleep(POLL_SECONDS)
            response = self.request("GET", capture["url"])
            response.raise_for_status()
            capture = response.json()
        return capture


def detail(response):
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return body.get("detail") or "; ".join(
            str(value[0] if isinstance(value, list) else value) for value in body.values()
        )
    return str(body)


def describe(capture):
    """One line for the camera's log: what the server made of a snapshot."""
    if capture["status"] == "failed":
        return f"Capture {capture['id']} failed: {capture['error']}"
    if capture["status"] != "done":
        return f"Capture {capture['id']} is still {capture['status']}; see it on the session page."
    total = capture["timings"]["total_ms"]
    timing = f" in {total:.0f} ms" if total is not None else ""
    if not capture["faces"]:
        # A normal result (an empty room, a blurred frame), not "nobody recognised" among faces.
        return f"Capture {capture['id']}: no face found{timing}."
    names = [f"{face['student']['full_name']} ({face['distance']:.2f})" for face in capture["faces"] if face["student"]]
    unknown = sum(1 for face in capture["faces"] if not face["student"])
    seen = ", ".join(names) or "nobody recognised"
    extra = f", {unknown} unknown face(s)" if unknown else ""
    small = sum(min(x2 - x1, y2 - y1) < SMALL_FACE_PX for x1, y1, x2, y2 in (face["box"] for face in capture["faces"]))
    advice = (
        f". Most faces are under {SMALL_FACE_PX} px: move closer or use a higher resolution"
        if small * 2 > len(capture["faces"])
        else ""
    )
    return f"Capture {capture['id']}: {len(capture['faces'])} face(s){timing}: {seen}{extra}{advice}"


def open_video(source, resolution=FULL_RESOLUTION, opener=cv2.VideoCapture):
    """A webcam number ('0'), a video file, or a stream URL (rtsp://...). A webcam is asked for
    `resolution` (width, height); a file or stream sends what it holds."""
    video = opener(int(source) if source.isdigit() else source)
    if not video.isOpened():
        raise CameraError(f"Could not open the video source {source!r}: check the camera number, file or URL.")
    if source.isdigit():
        video.set(cv2.CAP_PROP_FRAME_WIDTH, resolution[0])
        video.set(cv2.CAP_PROP_FRAME_HEIGHT, resolution[1])
    return video


def resolution_line(source, frame):
    """What the camera's log says of the frames it sends, with advice where they are small."""
    height, width = frame.shape[:2]
    line = f"Video source {source}: snapshots of {width} x {height} pixels"
    if width < SMALL_WIDTH:
        return (
            f"{line}. Faces far from the camera may be too small to recognise: move it closer, or use a camera "
            "with a higher resolution (--resolution asks a webcam for one)."
        )
    return f"{line}."


def encode_jpeg(frame, quality=90):
    ok, buffer = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise CameraError("Could not encode a frame as JPEG.")
    return buffer.tobytes()


def due_frames(video, interval, from_file, clock=time.monotonic):
    """Yield the frames to send: one per interval of video time for a file (read as fast as it
    decodes), of wall-clock time for a live camera. A file ends; a live source is retried."""
    next_due = 0.0
    failures = 0
    while True:
        ok, frame = video.read()
        if not ok:
            if from_file:
                return
            failures += 1
            if failures > 50:
                raise CameraError("The camera stopped sending frames.")
            time.sleep(0.2)
            continue
        failures = 0
        now = video.get(cv2.CAP_PROP_POS_MSEC) / 1000 if from_file else clock()
        if now >= next_due:
            next_due = now + interval
            yield frame


def run_camera(client, source, interval, max_snapshots=None, resolution=FULL_RESOLUTION):
    """Send snapshots until the file ends or max_snapshots were sent. Returns how many were sent."""
    video = open_video(source, resolution)
    sent = 0
    try:
        for frame in due_frames(video, interval, from_file=Path(source).is_file()):
            if sent == 0:
                client.out(resolution_line(source, frame))
            try:
                capture = client.send_snapshot(encode_jpeg(frame), datetime.now(UTC))
                if capture is not None:
                    client.out(describe(client.wait_for_result(capture)))
            except (Unreachable, requests.HTTPError) as error:
                client.out(f"Snapshot not sent: {error}. Carrying on with the next one.")
            sent += 1
            if max_snapshots is not None and sent >= max_snapshots:
                break
    finally:
        video.release()
    return sent
