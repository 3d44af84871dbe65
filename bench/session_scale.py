""" "Who is this?" at camera scale: the unknown-people API and the session page of one session
with many snapshots of a few unknown people, through Django's test client.

    .venv/bin/python bench/session_scale.py [--snapshots 720] [--faces 8] [--reference 180]
        [--database rollcall_bench_session | --sqlite] [--repeats 7]

Builds the session in a database of its own (PostgreSQL, dropped and created again; or a
temporary SQLite file): a course of 30 students, one session, --snapshots camera snapshots
(Capture rows, done; no image files: the page only links to them) each with --faces unknown
faces (and --marked faces marked as students of the course, none by default). Real-looking descriptors: --faces made-up people, unit vectors in 128 dimensions about
0.7 apart (dlib's different-person distances on the dev set are 0.55-0.8); each snapshot's view
of a person lies at a random distance of 0.08-0.16 from them (two views 0.11-0.23 apart, under
the 0.313 grouping distance, as views of one person at one size are). Each snapshot's faces are
placed by the worker's own function (people.join_session_people), one snapshot after another;
the time the last snapshot took is printed too.

Timed (median of --repeats after a warm-up, DEBUG off): GET /api/sessions/<id>/unknown-people/
and GET /sessions/<id>/, at --reference snapshots and at --snapshots, wall time and this
process's CPU time (Django without PostgreSQL, less moved by other work on a shared machine). Reference, in the same run
and on the same faces at --reference snapshots: the old per-request grouping (before people were
kept, every unknown face of the session was grouped pairwise in Python on each request; kept
below as it was). It grows with the square of the faces: at 360 x 8 it took 16.5 s a call.
The last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
POSTGRES = "postgres://postgres@127.0.0.1:5432"
EMBEDDER = "dlib_resnet_v1_flip"
DIM = 128


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--snapshots", type=int, default=720)
    parser.add_argument("--faces", type=int, default=8, help="unknown people (faces) per snapshot")
    parser.add_argument("--marked", type=int, default=0, help="students marked in each snapshot besides them")
    parser.add_argument("--reference", type=int, default=180, help="snapshots at which the old grouping is timed")
    parser.add_argument("--database", default="rollcall_bench_session", help="PostgreSQL database (dropped)")
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite file instead of PostgreSQL")
    parser.add_argument("--repeats", type=int, default=7)
    return parser.parse_args(argv)


def set_up_django(args):
    """Django on a fresh database of its own, with production's DEBUG off."""
    if args.sqlite:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='bench-session-')}/db.sqlite3"
    else:
        import psycopg

        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{args.database}"')
            admin.execute(f'CREATE DATABASE "{args.database}"')
        url = f"{POSTGRES}/{args.database}"
    sys.path.insert(0, str(REPO))
    from recognition.sealing import new_key

    os.environ.update(
        DATABASE_URL=url,
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(64),
        FACE_DATA_KEY=new_key(),
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="0",
        DJANGO_SETTINGS_MODULE="attendance_site.settings",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def made_up_people(count, rng):
    """Unit vectors about 0.7 apart: a shared direction plus 0.57 of one of their own."""
    common = rng.normal(size=DIM)
    common /= np.linalg.norm(common)
    people = []
    for _ in range(count):
        own = rng.normal(size=DIM)
        own -= own @ common * common
        own /= np.linalg.norm(own)
        person = common + 0.57 * own
        people.append(person / np.linalg.norm(person))
    return people


def view_of(person, rng):
    """A snapshot's descriptor of the person: a random direction at 0.08-0.16 from them."""
    other = rng.normal(size=DIM)
    other -= other @ person * person
    other /= np.linalg.norm(other)
    angle = 2 * np.arcsin(rng.uniform(0.08, 0.16) / 2)
    return (np.cos(angle) * person + np.sin(angle) * other).astype(np.float32)


class Classroom:
    """The course, its teacher and its session, and the snapshots added to the session."""

    def __init__(self, faces, marked, rng):
        from django.contrib.auth.models import Group, User
        from django.utils import timezone

        from students.models import ClassSession, Course, Student

        self.teacher = User.objects.create_user("teacher", first_name="Tess", last_name="Teacher")
        self.teacher.groups.add(Group.objects.get_or_create(name="Teacher")[0])
        course = Course.objects.create(code="CAM1", name="Camera class")
        course.teachers.add(self.teacher)
        students = Student.objects.bulk_create(
            Student(student_number=f"S{n:03}", full_name=f"Student {n}") for n in range(30)
        )
        course.students.add(*students)
        self.marked = students[:marked]
        starts = timezone.now() - timedelta(hours=2)
        self.session = ClassSession.objects.create(course=course, starts_at=starts, ends_at=starts + timedelta(hours=3))
        self.people = made_up_people(faces + marked, rng)
        self.unknown = faces
        self.rng = rng
        self.snapshots = 0

    def add_snapshot(self):
        """One camera snapshot with a face of every person, placed by the worker's function;
        returns the milliseconds the placing took."""
        from django.db import transaction

        from recognition.models import Capture, DetectedFace
        from recognition.people import join_session_people
        from students.attendance import mark_seen

        taken = self.session.starts_at + timedelta(seconds=10 * self.snapshots)
        capture = Capture.objects.create(
            session=self.session,
            image="captures/bench.jpg",
            source=Capture.CAMERA,
            taken_at=taken,
            status=Capture.DONE,
            embedder=EMBEDDER,
            face_count=len(self.people),
            width=1920,
            height=1080,
        )
        faces = DetectedFace.objects.bulk_create(
            DetectedFace(
                capture=capture,
                x1=60 * n,
                y1=400,
                x2=60 * n + 34,
                y2=434,
                score=0.99,
                crop=f"crops/bench-{n}.jpg",
                decision=DetectedFace.UNKNOWN if n < self.unknown else DetectedFace.MARK,
                reason="beyond_threshold" if n < self.unknown else "strong",
                student=None if n < self.unknown else self.marked[n - self.unknown],
                distance=None if n < self.unknown else 0.25,
                embedding=view_of(person, self.rng).tobytes(),
                sharpness=150.0,
                yaw=0.1,
            )
            for n, person in enumerate(self.people)
        )
        started = time.perf_counter()
        with transaction.atomic():
            join_session_people(capture, faces, EMBEDDER)
            for face in faces[self.unknown :]:
                mark_seen(self.session, face.student, taken, Capture.CAMERA, face.distance)
        self.snapshots += 1
        return (time.perf_counter() - started) * 1000


def median_ms(call, repeats, clock=time.perf_counter):
    call()  # warm-up
    times = []
    for _ in range(repeats):
        started = clock()
        call()
        times.append((clock() - started) * 1000)
    return round(statistics.median(times), 1)


def timed_reads(classroom, repeats):
    from django.test import Client

    client = Client()
    client.force_login(classroom.teacher)
    pk = classroom.session.pk

    def get(url):
        def call():
            response = client.get(url, secure=True)
            assert response.status_code == 200, (url, response.status_code)
            return response

        return call

    api, page = get(f"/api/sessions/{pk}/unknown-people/"), get(f"/sessions/{pk}/")
    people = api().json()
    return {
        "snapshots": classroom.snapshots,
        "unknown_people_listed": len(people),
        "faces_of_those_people": sum(person["face_count"] for person in people),
        "api_ms": median_ms(api, repeats),
        "page_ms": median_ms(page, repeats),
        # This process's CPU alone (Django, not PostgreSQL): less moved by other work on the machine.
        "api_cpu_ms": median_ms(api, repeats, time.process_time),
        "page_cpu_ms": median_ms(page, repeats, time.process_time),
    }


# --- The old per-request grouping, as it was before people were kept (reference only) ----------


def old_group_faces(embeddings, photos, max_distance):
    """recognition/engine/grouping.group_faces before people were kept: greedy agglomerative
    clustering with complete linkage over every face, on every request."""
    count = len(photos)
    if count == 0:
        return []
    rows = np.asarray(embeddings, dtype=np.float32).reshape(count, -1)
    rows = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    distances = np.sqrt(np.maximum(2.0 - 2.0 * (rows @ rows.T), 0.0))
    groups = {face: [face] for face in range(count)}
    owner = list(range(count))
    pairs = np.argwhere(np.triu(distances <= max_distance, k=1))
    for a, b in sorted(pairs.tolist(), key=lambda pair: (distances[pair[0], pair[1]], pair)):
        first, second = sorted((owner[a], owner[b]))
        if first == second:
            continue
        joined, joining = groups[first], groups[second]
        if {photos[f] for f in joined} & {photos[f] for f in joining}:
            continue
        if distances[np.ix_(joined, joining)].max() > max_distance:
            continue
        joined.extend(joining)
        for face in joining:
            owner[face] = first
        del groups[second]
    return [sorted(group) for _, group in sorted(groups.items())]


def old_unknown_people(session):
    """review.unknown_people before people were kept: read every unknown face of the session and
    group them (the suggestion of each group is left out: it costs nothing beside the grouping)."""
    from recognition.models import Capture, DetectedFace
    from recognition.people import grouping_distance

    faces = list(
        DetectedFace.objects.filter(
            capture__session=session, capture__status=Capture.DONE, student=None, dismissed=False
        )
        .select_related("capture", "suggested_student")
        .prefetch_related("rejected_students")
        .order_by("capture__taken_at", "capture_id", "x1")
    )
    return old_group_faces(
        [face.as_array() for face in faces], [face.capture_id for face in faces], grouping_distance(EMBEDDER)
    )


def main(argv=None):
    args = parse_args(argv)
    set_up_django(args)
    classroom = Classroom(args.faces, args.marked, np.random.default_rng(0))
    reference_at = min(args.reference, args.snapshots)
    for _ in range(reference_at):
        classroom.add_snapshot()
    groups = old_unknown_people(classroom.session)
    reference = timed_reads(classroom, args.repeats)
    reference["old_grouping_ms"] = median_ms(lambda: old_unknown_people(classroom.session), max(1, args.repeats // 3))
    reference["old_grouping_people"] = len(groups)
    print(f"at {reference_at} snapshots: {json.dumps(reference)}", flush=True)
    placing = [classroom.add_snapshot() for _ in range(args.snapshots - reference_at)]
    figures = timed_reads(classroom, args.repeats)
    figures["place_last_snapshot_ms"] = round(placing[-1], 1) if placing else None
    print(f"at {args.snapshots} snapshots: {json.dumps(figures)}", flush=True)
    print(
        json.dumps(
            {
                "database": "sqlite" if args.sqlite else "postgresql",
                "unknown_faces_per_snapshot": args.faces,
                "marked_faces_per_snapshot": args.marked,
                "target_ms": 200,
                "load_average": [round(value, 2) for value in os.getloadavg()],
                "at_reference": reference,
                "at_snapshots": figures,
            }
        )
    )


if __name__ == "__main__":
    main()
