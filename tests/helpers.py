"""Helpers shared by the test modules: made-up photos for tests that need pixels but no face,
enrolling students from the shared dataset, waiting on a worker, and the rule for tests that
cannot run here (skip on a developer's machine, fail in CI)."""

import io
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import numpy as np
import pytest
from PIL import Image

# .ci/run sets it: there, a test that cannot run (no dataset, no Chromium, no redis-server) is
# a failure, not a skip nobody reads.
REQUIRE_TEST_DATA = os.environ.get("ROLLCALL_REQUIRE_TEST_DATA", "").strip().lower() in ("1", "true", "yes", "on")


def skip_or_fail(reason):
    """Skip the test with the reason, or fail it where ROLLCALL_REQUIRE_TEST_DATA is set."""
    if REQUIRE_TEST_DATA:
        pytest.fail(f"{reason} ROLLCALL_REQUIRE_TEST_DATA is set, so every test must run.", pytrace=False)
    pytest.skip(reason)


def photo_jpeg(size=(320, 240), seed=0):
    """A JPEG of smooth colour noise: a photo to store, refuse or cut short, with no face in it.
    Noise, not a flat colour, so that most of the file is image data (as in a real photo) and
    a cut anywhere past the header leaves the picture incomplete."""
    width, height = size
    coarse = np.random.default_rng(seed).integers(0, 256, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    image = Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


BBT4_PEOPLE = ["BBT_Raj", "BBT_Sheldon", "BBT_Bernadette"]  # in group/faceapi_bbt4.jpg, with 3 strangers


def upload_class_photo(client, teacher, session, photo):
    """The photo uploaded through the API by the teacher; with eager_celery, recognised by the
    worker's path before this returns the Capture."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from recognition.models import Capture

    client.force_login(teacher)
    upload = SimpleUploadedFile("class.jpg", photo, "image/jpeg")
    response = client.post(reverse("api_session_captures", args=[session.pk]), {"image": upload})
    assert response.status_code == 202, response.content
    capture = Capture.objects.get(pk=response.json()["id"])
    assert capture.status == Capture.DONE, capture.error
    return capture


def recognised_class_photo(client, faces_dataset):
    """BBT4's people enrolled (their photos into the photo storage, embedded by the worker path),
    and the group photo uploaded through the API by their teacher and recognised."""
    from tests.factories import make_course, make_session, make_user

    teacher = make_user("teacher", role="Teacher")
    course = make_course("BBT", teacher=teacher)
    students = enrol_identities(faces_dataset, BBT4_PEOPLE, course)
    session = make_session(course)
    photo = (faces_dataset / "group" / "faceapi_bbt4.jpg").read_bytes()
    return students, session, upload_class_photo(client, teacher, session, photo), photo


def enrol_identities(dataset, names, course, photos_each=None):
    """These dataset identities (folder names) as consenting students of the course, with their
    first `photos_each` photos (all by default) as enrolment photos; returns {full name: Student}."""
    from recognition.enrolment import add_enrolment_photo
    from recognition.models import FacePhoto
    from students.consent import record_consent
    from students.models import Student
    from tests.factories import make_student

    students = {}
    for name in names:
        student = make_student(name[:32], name.replace("_", " "))
        record_consent(Student.objects.filter(pk=student.pk), None, "test fixture")
        for path in sorted((dataset / "identities" / name).iterdir())[:photos_each]:
            add_enrolment_photo(student, path.read_bytes(), source=FacePhoto.IMPORT)
        course.students.add(student)
        students[student.full_name] = student
    return students


def wait_for(condition, timeout=90, interval=0.2):
    """Poll condition() until it is true (True) or the timeout passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False


class LocalHTTPServer:
    """The server side of a test's fake of an outside service (Google's APIs, an OpenID
    provider): on a free port of 127.0.0.1, it records each request's method and path in
    `requests` and answers what the fake's route() says, one request at a time."""

    port = 0
    httpd = None

    def __init__(self):
        self.requests = []  # (method, path) of every request that reached the server
        self.lock = threading.Lock()

    def route(self, method, path, query, raw, headers):
        """(status, a JSON body), or (302, the address to send the client to)."""
        raise NotImplementedError

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), self.handler_class())
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.answer("GET")

            def do_POST(self):
                self.answer("POST")

            def answer(self, method):
                url = urlparse(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with fake.lock:
                    fake.requests.append((method, url.path))
                    status, body = fake.route(method, url.path, url.query, raw, self.headers)
                if status == 302:
                    self.send_response(302)
                    self.send_header("Location", body)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        return Handler


def save_student_with_photo(client, student, upload):
    """Save a student's admin page with one new enrolment photo in its inline (no existing photo
    form sent): each post adds one photo."""
    return client.post(
        f"/admin/students/student/{student.pk}/change/",
        {
            "student_number": student.student_number,
            "full_name": student.full_name,
            "email": "",
            "user": "",
            "is_active": "on",
            "consent_given_by": "",
            "face_photos-TOTAL_FORMS": "1",
            "face_photos-INITIAL_FORMS": "0",
            "face_photos-MIN_NUM_FORMS": "0",
            "face_photos-MAX_NUM_FORMS": "1000",
            "face_photos-0-id": "",
            "face_photos-0-student": str(student.pk),
            "face_photos-0-image": upload,
            "_save": "Save",
        },
    )
