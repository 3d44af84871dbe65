"""What sealing face data at rest costs (FACE_DATA_KEY, recognition/sealing.py): the worker's time
per class photo and the gallery's load time, each without and with sealing, in one run.

    .venv/bin/python bench/sealing.py DATASET_DIR [--repeats 7] [--gallery-repeats 21]
        [--students 1000] [--photos 2] [--database rollcall_bench_sealing]

Django on a fresh PostgreSQL database of its own (dropped and created again), photos in a
temporary folder, production's settings (DEBUG off, a key set); each half runs with the key
unset (plain) or set (sealed), switched in this one process, alternating photo by photo so that
a busy machine slows both alike.

- Worker: BBT4's five people (``identities/BBT_*``) enrolled and embedded by the worker's own
  functions; then --repeats class photos (``group/faceapi_bbt4.jpg``, 6 faces) per half, each a
  new capture of the half's own session recognised by ``processing.process_capture``, the
  function the Celery task runs: reading the photo (opened when sealed), detection, embedding,
  matching, crops and descriptors saved (sealed) and attendance marked. Median wall and CPU ms.
- Gallery: --students consenting students with --photos accepted enrolment photos each and a
  descriptor per gallery size of the calibration (the dlib embedder's: 6 sizes), as rows of two
  made-up model names, one stored plain and one sealed: the vectors are copies of the real
  enrolment descriptors above, since what is timed is reading and unsealing rows. Timed:
  ``processing.load_gallery``, what a worker does when the gallery changed (median of
  --gallery-repeats, alternating).

The last stdout line is one JSON object; ``*_ratio`` is sealed / plain (the target: at most 1.10).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.session_scale import set_up_django  # noqa: E402

PEOPLE = ["BBT_Bernadette", "BBT_Howard", "BBT_Raj", "BBT_Sheldon", "BBT_Stuart"]
CLASS_PHOTO = Path("group") / "faceapi_bbt4.jpg"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--repeats", type=int, default=7, help="class photos per half")
    parser.add_argument("--gallery-repeats", type=int, default=21, help="gallery loads per half")
    parser.add_argument("--students", type=int, default=1000, help="students in the timed gallery")
    parser.add_argument("--photos", type=int, default=2, help="accepted enrolment photos per student")
    parser.add_argument("--database", default="rollcall_bench_sealing", help="PostgreSQL database (dropped)")
    return parser.parse_args(argv)


def sealing(on, key):
    from django.conf import settings

    settings.FACE_DATA_KEY = key if on else ""


def enrol(dataset, course):
    """The identities as consenting students of the course, their photos embedded by the worker."""
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from recognition.models import FacePhoto
    from recognition.processing import embed_missing_photos, face_engine
    from students.models import Student

    for name in PEOPLE:
        student = Student.objects.create(
            student_number=name[:32],
            full_name=name.replace("_", " "),
            consent_recorded_at=timezone.now(),
            consent_given_by="bench",
        )
        course.students.add(student)
        for path in sorted((dataset / "identities" / name).iterdir()):
            photo = FacePhoto(student=student)
            photo.image.save(path.name.rsplit(".", 1)[0] + ".jpg", ContentFile(path.read_bytes()))
    embed_missing_photos(course.students.all(), face_engine())


def time_photo(session, photo):
    """One new capture of the photo recognised by the worker's function: (wall ms, CPU ms)."""
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from recognition.models import Capture
    from recognition.processing import process_capture

    capture = Capture(session=session, taken_at=timezone.now())
    capture.image.save("class.jpg", ContentFile(photo))
    wall, cpu = time.perf_counter(), time.thread_time()
    process_capture(capture.pk)
    wall, cpu = (time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000
    capture.refresh_from_db()
    assert capture.status == Capture.DONE and capture.face_count == 6, capture.error
    return wall, cpu


def build_gallery(model_name, students, photos_each, vectors, sizes):
    """students x photos_each accepted photos (no files: only the rows are read), one descriptor
    per size each, stored with sealing as it is switched now."""
    from django.utils import timezone

    from recognition.models import FaceEmbedding, FacePhoto
    from students.models import Student

    people = Student.objects.bulk_create(
        Student(
            student_number=f"{model_name}-{n}",
            full_name=f"Student {n}",
            consent_recorded_at=timezone.now(),
            consent_given_by="bench",
        )
        for n in range(students)
    )
    photos = FacePhoto.objects.bulk_create(
        FacePhoto(student=student, image=f"enrolment/{model_name}-{student.pk}-{k}.jpg", status=FacePhoto.ACCEPTED)
        for student in people
        for k in range(photos_each)
    )
    FaceEmbedding.objects.bulk_create(
        (
            FaceEmbedding(
                photo=photo, model_name=model_name, size_px=size, vector=vectors[(i + j) % len(vectors)].tobytes()
            )
            for i, photo in enumerate(photos)
            for j, size in enumerate(sizes)
        ),
        batch_size=2000,
    )


def time_gallery(model_name, sizes):
    from recognition.processing import load_gallery

    wall, cpu = time.perf_counter(), time.thread_time()
    load_gallery(model_name, sizes)
    return (time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000


def median_pair(runs):
    return round(statistics.median(w for w, _ in runs), 1), round(statistics.median(c for _, c in runs), 1)


def main(argv=None):
    args = parse_args(argv)
    args.sqlite = False
    os.environ["MEDIA_ROOT"] = tempfile.mkdtemp(prefix="bench-sealing-")
    set_up_django(args)
    key = os.environ["FACE_DATA_KEY"]

    from django.contrib.auth.models import User
    from django.utils import timezone

    from recognition.models import FaceEmbedding, FacePhoto
    from recognition.processing import face_engine
    from recognition.sealing import MAGIC
    from students.models import ClassSession, Course

    engine = face_engine()
    course = Course.objects.create(code="BBT", name="BBT")
    course.teachers.add(User.objects.create_user("teacher"))
    sealing(True, key)
    enrol(args.dataset, course)
    starts = timezone.now().replace(microsecond=0) - timedelta(minutes=5)
    sessions = {
        mode: ClassSession.objects.create(course=course, starts_at=starts, ends_at=starts + timedelta(hours=2))
        for mode in (False, True)
    }
    photo = (args.dataset / CLASS_PHOTO).read_bytes()
    time_photo(sessions[True], photo)  # warm-up: the models' first run
    worker = {False: [], True: []}
    for _ in range(args.repeats):
        for mode in (False, True):
            sealing(mode, key)
            worker[mode].append(time_photo(sessions[mode], photo))

    sizes = engine.calibration.gallery_sizes
    vectors = [row.as_array() for row in FaceEmbedding.objects.filter(photo__in=FacePhoto.objects.all())]
    for mode, name in ((False, "bench-plain"), (True, "bench-sealed")):
        sealing(mode, key)
        build_gallery(name, args.students, args.photos, vectors, sizes)
    sealing(True, key)  # a production worker reads plain rows with a key set, too
    assert FaceEmbedding.objects.filter(model_name="bench-sealed").count() == args.students * args.photos * len(sizes)
    time_gallery("bench-plain", sizes), time_gallery("bench-sealed", sizes)  # warm-up
    gallery = {False: [], True: []}
    for _ in range(args.gallery_repeats):
        for mode, name in ((False, "bench-plain"), (True, "bench-sealed")):
            gallery[mode].append(time_gallery(name, sizes))

    from django.db import connection

    with connection.cursor() as cursor:  # the sealed half really is sealed in the database
        cursor.execute("SELECT vector FROM recognition_faceembedding WHERE model_name = 'bench-sealed' LIMIT 1")
        assert bytes(cursor.fetchone()[0]).startswith(MAGIC)

    worker_plain, worker_plain_cpu = median_pair(worker[False])
    worker_sealed, worker_sealed_cpu = median_pair(worker[True])
    gallery_plain, gallery_plain_cpu = median_pair(gallery[False])
    gallery_sealed, gallery_sealed_cpu = median_pair(gallery[True])
    result = {
        "embedder": engine.embedder.name,
        "photo": str(CLASS_PHOTO),
        "repeats": args.repeats,
        "gallery_repeats": args.gallery_repeats,
        "worker_ms_plain": worker_plain,
        "worker_ms_sealed": worker_sealed,
        "worker_ratio": round(worker_sealed / worker_plain, 3),
        "worker_cpu_ms_plain": worker_plain_cpu,
        "worker_cpu_ms_sealed": worker_sealed_cpu,
        "worker_cpu_ratio": round(worker_sealed_cpu / worker_plain_cpu, 3),
        "gallery_rows": args.students * args.photos * len(sizes),
        "gallery_ms_plain": gallery_plain,
        "gallery_ms_sealed": gallery_sealed,
        "gallery_ratio": round(gallery_sealed / gallery_plain, 3),
        "gallery_cpu_ms_plain": gallery_plain_cpu,
        "gallery_cpu_ms_sealed": gallery_sealed_cpu,
        "gallery_cpu_ratio": round(gallery_sealed_cpu / gallery_plain_cpu, 3),
        # The fastest load of each: the least moved by other work on a shared machine.
        "gallery_cpu_ms_min_plain": round(min(c for _, c in gallery[False]), 1),
        "gallery_cpu_ms_min_sealed": round(min(c for _, c in gallery[True]), 1),
        "load_1min": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
