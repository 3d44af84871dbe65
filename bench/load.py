"""Upload latency and recognition throughput of the whole site, over HTTP, on PostgreSQL + Redis.

    .venv/bin/python bench/load.py [DATASET_DIR] [--uploads 20] [--database rollcall_load] [--redis-db 13]

Starts gunicorn (multi-threaded) and Celery worker processes on its own database (dropped and
created again), its own Redis database number and a temporary MEDIA_ROOT; enrols the dataset's
identities that appear in the group photos with consent (`manage.py import_students`); then, with
1 and then 2 workers, sends `--uploads` group photos at once to POST /api/sessions/{id}/captures/
with a device token and waits until the workers have processed them all. Every request goes to
127.0.0.1; the request count is bounded (uploads, one warm-up photo per worker, one check).

Workers run one torch thread each (FACE_TORCH_THREADS=1): on a 2-core machine torch with two
threads ran 10-20x slower whenever another process held a core (its OpenMP threads spin-wait),
so the site scales with worker processes, and this compares 1 process with 2. Workers run at
niceness --worker-nice (WORKER_NICE, default 10 here as in the README's worker command): the web
server on the same two cores then takes the CPU first. Each photo is read and multipart-encoded
before the clock starts (a camera does that on its own CPU; --encode-while-timed restores the old
way), and photo_ms_1/photo_ms_2 (median milliseconds a worker spent on a photo) tell whether the two
workers really ran side by side (equal) or shared one core (the second doubles). web_cpu_ms_*
is the CPU gunicorn's processes spent per upload of a burst (from /proc), with no worker, 1 and 2:
which the rest of a shared machine's load moves far less than the latencies (its caches, not its turn).

The whole benchmark runs once per --storage: photos on disk (a temporary MEDIA_ROOT) and in a
local S3-compatible server (moto's server mode, a process of its own on 127.0.0.1, spoken to by
boto3 through django-storages as production would a bucket). Each prints per-run figures and then
one JSON line with "storage" (keys in the README of bench/).
Needs gunicorn (pip install gunicorn==27.0.1) and, for s3, moto[server] (requirements-dev.txt).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import redis
import requests

REPO = Path(__file__).resolve().parent.parent
# The project's own modules: the processes the tests start too, and (after start_django) the ORM.
sys.path.insert(0, str(REPO))
from tests.processes import free_port, start_worker_process  # noqa: E402
from tests.processes import stop as stop_process  # noqa: E402

HOST = "127.0.0.1"  # the only address this script sends anything to
POSTGRES = f"postgres://postgres@{HOST}:5432"
REDIS = f"redis://{HOST}:6379"
WARM_UP_PHOTO = "faceapi_bbt4.jpg"
WEB_WORKERS, WEB_THREADS = 2, 8  # gunicorn processes x threads: 16 uploads in flight at once
IDLE_UPLOADS = 3  # sent one by one before any worker runs
WORKERS = ("load1", "load2")
GUNICORN_VERSION = "27.0.1"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", type=Path, nargs="?", default=REPO.parent / "shared" / "datasets" / "faces")
    parser.add_argument("--uploads", type=int, default=20, help="photos sent at once, per run")
    parser.add_argument("--database", default="rollcall_load")
    parser.add_argument("--redis-db", type=int, default=13)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per worker count (median taken)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for one run to be processed")
    parser.add_argument("--worker-nice", type=int, default=10, help="WORKER_NICE of the Celery workers (0: as the web)")
    parser.add_argument("--web-workers", type=int, default=WEB_WORKERS, help="gunicorn processes")
    parser.add_argument("--web-threads", type=int, default=WEB_THREADS, help="gunicorn threads per process")
    parser.add_argument(
        "--storage",
        default="filesystem,s3",
        help="comma-separated: filesystem (MEDIA_ROOT) and/or s3 (a local S3 server); one run each",
    )
    parser.add_argument(
        "--encode-while-timed",
        action="store_true",
        help="read and encode each photo of a burst inside its timed request, as before (client CPU counted)",
    )
    return parser.parse_args(argv)


def site_environment(args, workdir):
    return dict(
        os.environ,
        DEBUG="1",
        DJANGO_SETTINGS_MODULE="attendance_site.settings",
        DATABASE_URL=f"{POSTGRES}/{args.database}",
        CELERY_BROKER_URL=f"{REDIS}/{args.redis_db}",
        MEDIA_ROOT=str(workdir / "media"),
        ROLLCALL_VAR_DIR=str(workdir / "var"),
        FACE_TORCH_THREADS="1",
        # One device sends every photo of the benchmark: lift the per-device upload limit.
        UPLOAD_RATE_LIMIT="100000",
        LOG_LEVEL="WARNING",
    )


S3_BUCKET, S3_KEYS = "rollcall-load", {"S3_ACCESS_KEY_ID": "load", "S3_SECRET_ACCESS_KEY": "load-secret"}


def start_s3_server(workdir, processes):
    """moto's S3 server in a process of its own (not a thread of this busy client), with the
    benchmark's bucket; returns the variables that put the site's photos in it."""
    import boto3

    port = free_port()
    with open(workdir / "s3.log", "wb") as log:
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
            )
        )
    endpoint = f"http://{HOST}:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="load",
        aws_secret_access_key="load-secret",
    )

    def bucket_made():
        try:
            client.create_bucket(Bucket=S3_BUCKET)
            return True
        except Exception:  # not listening yet
            return False

    wait_until(bucket_made, 30, "the S3 server")
    return {"S3_BUCKET": S3_BUCKET, "S3_ENDPOINT_URL": endpoint, "S3_REGION": "us-east-1", **S3_KEYS}


def recreate_database(name):
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def drop_database(name):
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(env, *arguments):
    subprocess.run([sys.executable, "manage.py", *arguments], cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)


def people_in_group_photos(dataset):
    with open(dataset / "group_identities.csv", newline="") as labels:
        return sorted({row["identity"] for row in csv.DictReader(labels) if row["identity"] != "unknown"})


def enrol_people(env, dataset, workdir):
    """import_students over a folder of the identities that appear in the group photos."""
    folder = workdir / "students"
    folder.mkdir()
    for name in people_in_group_photos(dataset):
        # Copied, not linked: import_students refuses symbolic links.
        shutil.copytree(dataset / "identities" / name, folder / name)
    manage(env, "import_students", str(folder), "--course", "LOAD", "--consent", "load benchmark")


def start_django(env):
    """This process reads the benchmark's database through the ORM (no HTTP polling)."""
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance_site.settings")
    import django

    django.setup()


def device_token_for(course):
    from access.devices import issue_token
    from access.models import DeviceToken

    device = DeviceToken(name="load benchmark", course=course)
    token = issue_token(device)
    device.save()
    return token


def new_session(course):
    from django.utils import timezone

    from students.models import ClassSession

    starts_at = timezone.now() - timedelta(minutes=5)
    return ClassSession.objects.create(course=course, starts_at=starts_at, ends_at=starts_at + timedelta(hours=1))


def preloaded_site():
    """gunicorn's application (with --preload): the site with its URLs, views and image code
    imported once, before the web processes fork, so that none of them pays for the imports on
    its first upload while the clock runs."""
    from django.core.wsgi import get_wsgi_application
    from django.urls import get_resolver

    application = get_wsgi_application()
    get_resolver().resolve("/api/sessions/1/captures/")
    import recognition.tasks  # noqa: F401  create_capture imports it (and torch with it) on the first upload

    return application


def start_web(env, port, log, workers=WEB_WORKERS, threads=WEB_THREADS):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "bench.load:preloaded_site()",
            "--preload",
            "--bind",
            f"{HOST}:{port}",
            "--worker-class",
            "gthread",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def start_worker(env, name, log, nice=0):
    """A worker process; it lowers its own priority to WORKER_NICE as it starts (recognition.tasks)."""
    return start_worker_process(dict(env, WORKER_NICE=str(nice)), log, loglevel="WARNING", hostname=f"{name}@%h")


def niceness(process):
    """The niceness of the process's main thread (the one that runs tasks in a solo pool), as
    `ps` shows it."""
    return int(Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def cpu_seconds(root_pid):
    """User + system CPU seconds of a process and its children now running (gunicorn's master
    and its web processes), from /proc: what the uploads cost the web whatever else the shared
    machine runs, where their wall time moves with it."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if root_pid in (int(stat.parent.name), int(fields[1])):
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def stop(processes):
    for process in processes:  # all at once, then each waited for
        if process.poll() is None:
            process.terminate()
    for process in processes:
        stop_process(process)


def wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"Gave up after {timeout:.0f} s waiting for {what}.")
        time.sleep(0.25)


def web_answers(base_url, token, web):
    if web.poll() is not None:
        raise RuntimeError(f"gunicorn exited with status {web.returncode}.")
    try:
        return requests.get(f"{base_url}/api/courses/", headers=auth(token), timeout=5).status_code == 200
    except requests.ConnectionError:
        return False


def node_names():
    from attendance_site.celery import app

    return {node.split("@")[0]: node for reply in app.control.ping(timeout=1.0) for node in reply}


def workers_answering(names):
    return set(node_names()) >= set(names)


def set_second_worker_taking_photos(taking):
    from attendance_site.celery import app

    node = node_names()[WORKERS[1]]
    change = app.control.add_consumer if taking else app.control.cancel_consumer
    replies = change("celery", destination=[node], reply=True, timeout=5.0)
    if not replies:
        raise RuntimeError(f"{node} did not answer the request to {'take' if taking else 'stop taking'} photos.")


def auth(token):
    return {"Authorization": f"Token {token}"}


ENCODE_WHILE_TIMED = False


def multipart(photo):
    """The request body and headers of one photo's upload (the device token is added later)."""
    prepared = requests.Request(
        "POST", "http://" + HOST, files={"image": (photo.name, photo.read_bytes(), "image/jpeg")}
    ).prepare()
    return prepared.body, {"Content-Type": prepared.headers["Content-Type"]}


def upload(base_url, token, session, photo):
    """POST one photo; returns (milliseconds, capture id). The file is read and encoded before the
    clock starts: a camera or phone does that on its own CPU, not on the server's."""
    body, headers = multipart(photo)
    return send_upload(base_url, token, session, photo, body, headers)


def send_upload(base_url, token, session, photo, body, headers):
    started = time.perf_counter()
    response = requests.post(
        f"{base_url}/api/sessions/{session.pk}/captures/", headers={**auth(token), **headers}, data=body, timeout=60
    )
    elapsed_ms = (time.perf_counter() - started) * 1000
    if response.status_code != 202:
        raise RuntimeError(f"Upload of {photo.name} answered {response.status_code}: {response.text[:300]}")
    return elapsed_ms, response.json()["id"]


def upload_all_at_once(base_url, token, session, photos):
    """One thread per photo, released together. Returns [(ms, capture id)] in photo order."""
    results = [None] * len(photos)
    errors = []
    start_line = threading.Barrier(len(photos))
    bodies = [None if ENCODE_WHILE_TIMED else multipart(photo) for photo in photos]

    def send(index, photo):
        start_line.wait()
        try:
            body, headers = bodies[index] or multipart(photo)
            results[index] = send_upload(base_url, token, session, photo, body, headers)
        except Exception as error:  # reported below, after every thread has finished
            errors.append(error)

    threads = [threading.Thread(target=send, args=(i, photo)) for i, photo in enumerate(photos)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def all_finished(capture_ids):
    from recognition.models import Capture

    return not Capture.objects.filter(pk__in=capture_ids, status__in=[Capture.QUEUED, Capture.PROCESSING]).exists()


def no_photo_waiting():
    from recognition.models import FacePhoto

    return not FacePhoto.objects.filter(status=FacePhoto.PENDING).exists()


def last_finished_at(capture_ids):
    from django.db.models import Max

    from recognition.models import Capture

    return Capture.objects.filter(pk__in=capture_ids).aggregate(last=Max("finished_at"))["last"].timestamp()


def tasks_done_by_worker():
    from attendance_site.celery import app

    stats = app.control.inspect(timeout=2.0).stats() or {}
    return {name: reply.get("total", {}).get("recognition.tasks.process_capture", 0) for name, reply in stats.items()}


def uploads_one_by_one(base_url, token, course, photos):
    """Upload latency with nothing else going on: the floor under the figures taken under load."""
    session = new_session(course)
    return [upload(base_url, token, session, photo) for photo in photos]


def warm_up(base_url, token, course, dataset, worker_count, timeout, queued_ids=()):
    """Every worker loads its models and has processed one photo, and every enrolment photo is
    embedded, before the clock starts: both runs then compare like with like."""
    session = new_session(course)
    photos = [dataset / "group" / WARM_UP_PHOTO] * worker_count
    ids = [capture_id for _, capture_id in upload_all_at_once(base_url, token, session, photos)]
    ids += queued_ids
    wait_until(lambda: all_finished(ids) and no_photo_waiting(), timeout, "the warm-up photos")
    idle = [name for name, done in tasks_done_by_worker().items() if done == 0]
    if idle:
        raise RuntimeError(f"Workers {idle} took no warm-up photo: their first timed photo would pay for loading.")
    return ids


def timed_run(base_url, token, course, photos, timeout, web):
    session = new_session(course)
    started = time.time()
    web_cpu = cpu_seconds(web.pid)
    results = upload_all_at_once(base_url, token, session, photos)
    web_cpu_ms = (cpu_seconds(web.pid) - web_cpu) * 1000 / len(photos)
    ids = [capture_id for _, capture_id in results]
    wait_until(lambda: all_finished(ids), timeout, f"{len(ids)} captures to be processed")
    seconds = last_finished_at(ids) - started
    latencies = [ms for ms, _ in results]
    from recognition.models import Capture

    return {
        "photo_ms": statistics.median(Capture.objects.filter(pk__in=ids).values_list("total_ms", flat=True)),
        "ids": ids,
        "latencies_ms": latencies,
        "seconds": seconds,
        "photos_per_minute": len(ids) / seconds * 60,
        "web_cpu_ms": web_cpu_ms,
    }


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def exactly_once_report(capture_ids):
    """Processed: done, with as many face rows as faces found. Processed twice: a second complete
    run (attempts > 1) or a second set of face rows."""
    from django.db.models import Count

    from recognition.models import Capture

    captures = Capture.objects.filter(pk__in=capture_ids).annotate(rows=Count("faces"))
    done = [c for c in captures if c.status == Capture.DONE]
    twice = [c.pk for c in captures if c.attempts > 1 or (c.face_count is not None and c.rows != c.face_count)]
    return {
        "processed": len({c.pk for c in done if c.rows == c.face_count}),
        "processed_twice": len(twice),
        "failed": {c.pk: c.error for c in captures if c.status == Capture.FAILED},
    }


def group_photos(dataset, count):
    photos = sorted((dataset / "group").glob("*.jpg"))
    return [photos[i % len(photos)] for i in range(count)]


def faces_found(capture_ids):
    from django.db.models import Sum

    from recognition.models import Capture

    return Capture.objects.filter(pk__in=capture_ids).aggregate(faces=Sum("face_count"))["faces"]


def describe(label, run):
    return (
        f"{label}: {len(run['ids'])} uploads ({faces_found(run['ids'])} faces), latency p50 {percentile(run['latencies_ms'], 0.5):.0f} ms, "
        f"p95 {percentile(run['latencies_ms'], 0.95):.0f} ms, max {max(run['latencies_ms']):.0f} ms; "
        f"all processed in {run['seconds']:.1f} s = {run['photos_per_minute']:.1f} photos/min, "
        f"{run['photo_ms']:.0f} ms a photo in a worker (median), web CPU {run['web_cpu_ms']:.1f} ms an upload"
    )


def latencies_of(runs):
    return [ms for run in runs for ms in run["latencies_ms"]]


def median_of(runs, key):
    return statistics.median(run[key] for run in runs)


def run_benchmark(args, workdir, processes, storage):
    load_before = round(os.getloadavg()[0], 2)  # other work on the machine skews every figure
    env = site_environment(args, workdir)
    if storage == "s3":
        env.update(start_s3_server(workdir, processes))
    recreate_database(args.database)
    redis.Redis.from_url(env["CELERY_BROKER_URL"]).flushdb()
    manage(env, "migrate", "--noinput")
    enrol_people(env, args.dataset, workdir)
    start_django(env)
    from students.models import Course

    course = Course.objects.get(code="LOAD")
    token = device_token_for(course)
    port = free_port()
    base_url = f"http://{HOST}:{port}"
    with open(workdir / "site.log", "wb") as log:
        web = start_web(env, port, log, args.web_workers, args.web_threads)
    processes.append(web)
    wait_until(lambda: web_answers(base_url, token, web), 60, "gunicorn")
    photos = group_photos(args.dataset, args.uploads)
    # Every web thread opens its database and Redis connections on its first request: a first,
    # unmeasured burst. Then, before any worker runs, the web's own cost: all at once, one by one.
    web_warm_up = upload_all_at_once(base_url, token, new_session(course), photos)
    web_cpu = cpu_seconds(web.pid)
    burst = upload_all_at_once(base_url, token, new_session(course), photos)
    burst_web_cpu_ms = (cpu_seconds(web.pid) - web_cpu) * 1000 / len(photos)
    one_by_one = uploads_one_by_one(base_url, token, course, photos[:IDLE_UPLOADS])
    print(
        f"no worker running: one upload at a time {[round(ms) for ms, _ in one_by_one]} ms; "
        f"{len(burst)} at once p95 {percentile([ms for ms, _ in burst], 0.95):.0f} ms, "
        f"web CPU {burst_web_cpu_ms:.1f} ms an upload",
        flush=True,
    )
    waiting_ids = [capture_id for _, capture_id in web_warm_up + burst + one_by_one]

    # Both workers start and warm up once; the second stops taking photos for the 1-worker runs.
    # The runs alternate, 1 then 2 workers, so that other work on the machine weighs on both alike.
    workers = []
    for name in WORKERS:
        with open(workdir / f"{name}.log", "wb") as log:
            workers.append(start_worker(env, name, log, args.worker_nice))
        processes.append(workers[-1])
    wait_until(lambda: workers_answering(WORKERS), 120, "the workers")
    warm_up(base_url, token, course, args.dataset, len(WORKERS), args.timeout, waiting_ids)
    worker_nice = sorted({niceness(worker) for worker in workers})
    runs = {1: [], 2: []}
    for repeat in range(1, args.repeats + 1):
        for worker_count in (1, 2):
            set_second_worker_taking_photos(worker_count == 2)
            before = tasks_done_by_worker()
            run = timed_run(base_url, token, course, photos, args.timeout, web)
            after = tasks_done_by_worker()
            share = {name: after[name] - before.get(name, 0) for name in sorted(after)}
            print(describe(f"{worker_count} worker(s), run {repeat}", run) + f"; photos per worker {share}", flush=True)
            runs[worker_count].append(run)

    timed_ids = [capture_id for run in runs[1] + runs[2] for capture_id in run["ids"]]
    once = exactly_once_report(timed_ids)
    latencies = latencies_of(runs[1] + runs[2])
    return {
        "storage": storage,
        "sent": len(timed_ids),
        "processed": once["processed"],
        "processed_twice": once["processed_twice"],
        "failed": once["failed"],
        "upload_p50_ms": round(percentile(latencies, 0.5)),
        "upload_p95_ms": round(percentile(latencies, 0.95)),
        "upload_p95_ms_1": round(percentile(latencies_of(runs[1]), 0.95)),
        "upload_p95_ms_2": round(percentile(latencies_of(runs[2]), 0.95)),
        "upload_one_at_a_time_ms": round(statistics.median(ms for ms, _ in one_by_one)),
        "upload_p95_ms_no_workers": round(percentile([ms for ms, _ in burst], 0.95)),
        "web_cpu_ms_per_upload_no_workers": round(burst_web_cpu_ms, 1),
        "web_cpu_ms_per_upload_1": round(median_of(runs[1], "web_cpu_ms"), 1),
        "web_cpu_ms_per_upload_2": round(median_of(runs[2], "web_cpu_ms"), 1),
        "seconds_1": round(median_of(runs[1], "seconds"), 1),
        "seconds_2": round(median_of(runs[2], "seconds"), 1),
        "photos_per_minute_1": round(median_of(runs[1], "photos_per_minute"), 1),
        "photos_per_minute_2": round(median_of(runs[2], "photos_per_minute"), 1),
        "speedup_2_over_1": round(median_of(runs[2], "photos_per_minute") / median_of(runs[1], "photos_per_minute"), 2),
        "photo_ms_1": round(median_of(runs[1], "photo_ms")),
        "photo_ms_2": round(median_of(runs[2], "photo_ms")),
        "worker_nice": worker_nice,
        "encode_while_timed": ENCODE_WHILE_TIMED,
        "uploads_at_once": args.uploads,
        "repeats": args.repeats,
        "web": f"gunicorn {GUNICORN_VERSION} gthread {args.web_workers}x{args.web_threads}",
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": round(os.getloadavg()[0], 2),
    }


def close_database_connections():
    # Django is set up only once the database exists; the database cannot be dropped while open.
    from django.conf import settings

    if settings.configured:
        from django.db import connections

        connections.close_all()


def stop_on_sigterm(signum, frame):
    raise SystemExit(f"Stopped by signal {signum}.")


def main(argv=None):
    args = parse_args(argv)
    global ENCODE_WHILE_TIMED
    ENCODE_WHILE_TIMED = args.encode_while_timed
    if shutil.which("gunicorn", path=str(Path(sys.executable).parent)) is None:
        sys.exit(f"bench/load.py needs gunicorn in this environment: pip install gunicorn=={GUNICORN_VERSION}")
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    for storage in args.storage.split(","):
        print(f"# photos stored: {storage}", flush=True)
        print(json.dumps(benchmark_with(args, storage)), flush=True)


def benchmark_with(args, storage):
    workdir = Path(tempfile.mkdtemp(prefix="rollcall-load-"))
    processes = []
    try:
        return run_benchmark(args, workdir, processes, storage)
    except BaseException:
        for log in sorted(workdir.glob("*.log")):
            print(f"--- end of {log.name}\n{log.read_text(errors='replace')[-3000:]}", file=sys.stderr)
        raise
    finally:
        stop(processes)
        close_database_connections()
        drop_database(args.database)
        redis.Redis.from_url(f"{REDIS}/{args.redis_db}").flushdb()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
