"""GET /healthz for load balancers: whether this web server reaches the database, the broker and
the photo storage. 200 when all three answer, 503 naming the ones that did not; always within
HEALTH_TIMEOUT_SECONDS, since a probe that hangs counts as down at the balancer anyway.

Answered by a middleware placed first: a balancer probes each server by its address, over plain
HTTP, so the answer must not wait on ALLOWED_HOSTS, the HTTPS redirect, sessions or a login.
It says "ok", "failed" or "timed out" per check and nothing else: no host names, no URLs, no
error text (the log has those)."""

import logging
import os
import threading
import time

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connections
from django.http import JsonResponse

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"


def database_answers():
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connections.close_all()  # this thread's own connection: it ends with the check


def broker_answers():
    from attendance_site.celery import app

    # Opening a channel is what sending a task does first; on Redis it is a PING.
    timeout = settings.HEALTH_TIMEOUT_SECONDS
    once = {"max_retries": 0, "socket_timeout": timeout, "socket_connect_timeout": timeout}
    with app.connection_for_write(connect_timeout=timeout, transport_options=once) as connection:
        connection.default_channel  # noqa: B018  opening it is the check


def storage_answers():
    if isinstance(default_storage, FileSystemStorage):
        # The folder is made on the first upload: what must hold is that it can be.
        os.makedirs(default_storage.location, exist_ok=True)
        if not os.access(default_storage.location, os.W_OK | os.X_OK):
            raise PermissionError("The photo folder is not writable.")
    else:
        # One listing of the top level: reaches the bucket with the site's keys, reads no photo.
        default_storage.listdir("")


CHECKS = {"database": database_answers, "broker": broker_answers, "storage": storage_answers}


def run_checks(checks=CHECKS, timeout=None):
    """{name: "ok" | "failed" | "timed out"}, all checks run side by side, answered by the deadline
    whatever they do. A check still running then is left to finish on its own (daemon thread)."""
    timeout = settings.HEALTH_TIMEOUT_SECONDS if timeout is None else timeout
    results = {}

    def run(name, check):
        try:
            check()
        except Exception:
            log.warning("Health check %s failed", name, exc_info=True)
            results[name] = "failed"
        else:
            results[name] = "ok"

    threads = [threading.Thread(target=run, args=item, daemon=True) for item in checks.items()]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return {name: results.get(name, "timed out") for name in checks}


def health_response():
    checks = run_checks()
    healthy = all(result == "ok" for result in checks.values())
    body = {"status": "ok" if healthy else "failing", "checks": checks}
    response = JsonResponse(body, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == HEALTH_PATH and request.method in ("GET", "HEAD"):
            return health_response()
        return self.get_response(request)
