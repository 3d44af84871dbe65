"""The Google Sheets mirror of a course's attendance: a check-mark grid and a timestamp log.

Both worksheets are computed whole from the database and written whole, so a retry or a re-run
never duplicates a row and whatever was removed from the database disappears from the sheet.

One sync makes three HTTP requests: an OAuth token, one metadata read and one batchUpdate write
per spreadsheet (two of each when the grid and the log live in different spreadsheets). Google
allows 60 writes per minute per service account, and a course syncs at most once every
SHEETS_SYNC_DELAY_SECONDS.
"""

import json
import logging
import random
from dataclasses import dataclass
from datetime import timedelta

import gspread
import requests
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from google.auth.exceptions import RefreshError, TransportError

from . import vocabulary
from .models import AttendanceRecord, Course, SheetSync
from .overview import attendance_rows
from .times import moment_stamp, session_time

CHECKMARK_HEADER = [_("Student number"), _("Name")]
# Written in the school's language (LANGUAGE_CODE: the worker has no visitor's language).
TIMESTAMP_HEADER = [
    _("Session"),
    _("Course"),
    _("Student number"),
    _("Name"),
    _("Status"),
    _("First seen"),
    _("Source"),
]
CHECK_MARKS = {AttendanceRecord.PRESENT: "✓", AttendanceRecord.LATE: "L", AttendanceRecord.EXCUSED: "E"}
TRANSIENT_STATUS_CODES = {408, 429, 500, 502, 503, 504}
logger = logging.getLogger(__name__)
# A queued sync whose time is this long past never ran (a broker lost it): queue another.
LOST_SYNC_AFTER = timedelta(minutes=10)


# --- What the sheets hold -------------------------------------------------------------------


def checkmark_rows(course):
    """Header, then one row per enrolled student with a mark per session in start order:
    cancelled sessions are left out; a cell is empty unless the student was present (✓), late
    (L) or excused (E) in a session of their membership, so a session nobody took shows nobody
    absent either, as it counts nowhere (students/overview.py)."""
    sessions = list(course.sessions.not_cancelled().with_taken().order_by("starts_at", "pk"))
    students = course.students.order_by("full_name", "student_number")
    header = [str(word) for word in CHECKMARK_HEADER] + [session_time(session, "stamp") for session in sessions]
    return [header] + [
        [row.student.student_number, row.student.full_name] + [CHECK_MARKS.get(status, "") for status in row.statuses]
        for row in attendance_rows(sessions, students)
    ]


def timestamp_rows(course):
    """Header, then one row per attendance record of a student in a session of their membership,
    by session then name, its status in the site's words; none of a cancelled session."""
    records = (
        AttendanceRecord.objects.filter(session__course=course, student__courses=course)
        .filter(session__cancelled_at__isnull=True)
        .select_related("session", "student")
        .order_by("session__starts_at", "session_id", "student__full_name", "student__student_number")
    )
    member_of = {membership.student_id: membership for membership in course.memberships.all()}
    return [[str(word) for word in TIMESTAMP_HEADER]] + [
        [
            session_time(record.session, "stamp"),
            course.code,
            record.student.student_number,
            record.student.full_name,
            str(vocabulary.status_word(record.status)),
            moment_stamp(record.first_seen_at),
            record.source,
        ]
        for record in records
        if member_of[record.student_id].covers(record.session.local_day)
    ]


# --- Writing them ---------------------------------------------------------------------------


def service_account_info():
    with open(settings.GOOGLE_SERVICE_ACCOUNT_FILE) as key_file:
        return json.load(key_file)


def service_account_email():
    """Whom the school shares its sheets with, or why that is not known."""
    if not settings.GOOGLE_SERVICE_ACCOUNT_FILE:
        return "GOOGLE_SERVICE_ACCOUNT_FILE is not set"
    try:
        return service_account_info()["client_email"]
    except (OSError, ValueError, KeyError) as error:
        return f"unreadable service-account key {settings.GOOGLE_SERVICE_ACCOUNT_FILE}: {error}"


def sheets_http_client():
    client = gspread.service_account_from_dict(service_account_info())
    client.set_timeout(settings.SHEETS_HTTP_TIMEOUT_SECONDS)
    return client.http_client


def cell(text):
    # Strings, not user-entered values: student number 0042 must not become the number 42.
    return {"userEnteredValue": {"stringValue": text}} if text else {}


def grid_size(rows):
    return len(rows), max(len(row) for row in rows)


def worksheet_requests(sheet, sheet_id, title, rows):
    """Requests that make the worksheet hold exactly rows; sheet is its current properties or None."""
    height, width = grid_size(rows)
    if sheet is None:
        yield {
            "addSheet": {
                "properties": {
                    "sheetId": sheet_id,
                    "title": title,
                    "gridProperties": {"rowCount": height, "columnCount": width},
                }
            }
        }
    else:
        grid = sheet["gridProperties"]
        if grid["rowCount"] < height or grid["columnCount"] < width:
            # Grow only: shrinking would undo a school's frozen header or extra columns.
            size = {"rowCount": max(grid["rowCount"], height), "columnCount": max(grid["columnCount"], width)}
            yield {
                "updateSheetProperties": {
                    "properties": {"sheetId": sheet_id, "gridProperties": size},
                    "fields": "gridProperties(rowCount,columnCount)",
                }
            }
    # A range of the whole sheet: cells the rows do not cover are cleared in the same request.
    yield {
        "updateCells": {
            "range": {"sheetId": sheet_id},
            "rows": [{"values": [cell(text) for text in row]} for row in rows],
            "fields": "userEnteredValue",
        }
    }


def write_spreadsheet(http_client, spreadsheet_id, worksheets):
    """Replace the contents of the named worksheets ({title: rows}) in one batchUpdate."""
    url = f"{settings.GOOGLE_SHEETS_API_URL}/{spreadsheet_id}"
    metadata = http_client.request("get", url, params={"fields": "sheets.properties"}).json()
    existing = {sheet["properties"]["title"]: sheet["properties"] for sheet in metadata.get("sheets", [])}
    fresh_ids = iter(range(max((sheet["sheetId"] for sheet in existing.values()), default=0) + 1, 2**31))
    batch = []
    for title, rows in worksheets.items():
        sheet = existing.get(title)
        sheet_id = sheet["sheetId"] if sheet else next(fresh_ids)
        batch.extend(worksheet_requests(sheet, sheet_id, title, rows))
    http_client.request("post", f"{url}:batchUpdate", json={"requests": batch})


def write_course(sync):
    spreadsheets = {}
    for (spreadsheet_id, title), rows in [
        (sync.checkmark_target, checkmark_rows(sync.course)),
        (sync.timestamp_target, timestamp_rows(sync.course)),
    ]:
        spreadsheets.setdefault(spreadsheet_id, {})[title] = rows
    http_client = sheets_http_client()
    for spreadsheet_id, worksheets in spreadsheets.items():
        write_spreadsheet(http_client, spreadsheet_id, worksheets)


# --- Why a sync failed, and whether to try again --------------------------------------------


@dataclass(frozen=True)
class SyncFailure:
    message: str
    retryable: bool


def api_failure(error, sync):
    status = error.response.status_code
    if status in TRANSIENT_STATUS_CODES:
        return SyncFailure(f"Google answered {status} ({error.error.get('message', '')}); retrying.", True)
    if status == 403:
        return SyncFailure(
            f"Google refused access ({status}). Share the spreadsheets "
            f"{' and '.join(sorted({sync.checkmark_target[0], sync.timestamp_target[0]}))} "
            f"with {service_account_email()} as an editor.",
            False,
        )
    if status == 404:
        return SyncFailure("A spreadsheet id was not found (404): check the course's spreadsheet ids.", False)
    return SyncFailure(f"Google refused the update ({status}): {error.error.get('message', '')}", False)


def classify_failure(error, sync):
    """Quota, server and network trouble passes; credentials and access need a person."""
    if isinstance(error, gspread.exceptions.APIError):
        return api_failure(error, sync)
    if isinstance(error, (requests.ConnectionError, requests.Timeout, TransportError)):
        return SyncFailure(f"Google could not be reached ({error.__class__.__name__}); retrying.", True)
    if isinstance(error, RefreshError) and error.retryable:
        return SyncFailure(f"Google's sign-in failed for now ({error}); retrying.", True)
    if isinstance(error, RefreshError):
        return SyncFailure(
            f"Google rejected the service-account credentials ({error}). Create a new key for "
            f"{service_account_email()} and put it at GOOGLE_SERVICE_ACCOUNT_FILE.",
            False,
        )
    if isinstance(error, (OSError, ValueError, KeyError)):
        return SyncFailure(f"The service-account key could not be used: {error}", False)
    logger.exception("Unexpected error while syncing %s to Google Sheets", sync)
    return SyncFailure(f"Unexpected error: {error!r}", False)


def retry_countdown(failure, retries):
    """Seconds until the next attempt, or None when there should be none.

    Exponential backoff with jitter, so many courses hit by one quota burst do not retry in step.
    """
    max_retries = settings.SHEETS_SYNC_MAX_RETRIES
    if failure is None or not failure.retryable or (max_retries is not None and retries >= max_retries):
        return None
    ceiling = min(settings.SHEETS_RETRY_MAX_SECONDS, settings.SHEETS_RETRY_BASE_SECONDS * 2**retries)
    return random.uniform(ceiling / 2, ceiling)


# --- Sync state: what is behind, what is queued, what went wrong ----------------------------


def configured_sync(course_id):
    sync = SheetSync.objects.select_related("course").filter(course_id=course_id).first()
    return sync if sync and sync.is_configured else None


def ensure_sheet_syncs(course_ids):
    SheetSync.objects.bulk_create([SheetSync(course_id=pk) for pk in course_ids], ignore_conflicts=True)


def count_change(course_id):
    """The course's attendance changed: it counts as behind from this transaction on."""
    ensure_sheet_syncs([course_id])
    SheetSync.objects.filter(course_id=course_id).update(changes_seen=F("changes_seen") + 1)


def claim_sync(course_id, delay):
    """Claim the one sync of the course to come in `delay` seconds, unless one is queued or running
    already: bursts coalesce, and the claim is a conditional update so it holds across workers
    and web servers. Returns whether the caller won the claim and must queue the sync."""
    if configured_sync(course_id) is None:
        return False
    now = timezone.now()
    return bool(
        SheetSync.objects.filter(course_id=course_id)
        .filter(Q(next_sync_at__isnull=True) | Q(next_sync_at__lt=now - LOST_SYNC_AFTER))
        .update(next_sync_at=now + timedelta(seconds=delay))
    )


def sync_course(course_id):
    """Write the course's sheets now and record the outcome. Returns None or a SyncFailure."""
    sync = configured_sync(course_id)
    if sync is None:
        return SyncFailure("No spreadsheet is set for this course or in the settings.", False)
    changes_written = sync.changes_seen
    try:
        write_course(sync)
    except Exception as error:
        failure = classify_failure(error, sync)
        SheetSync.objects.filter(pk=sync.pk).update(
            last_error=failure.message,
            last_error_at=timezone.now(),
            attempts=F("attempts") + 1,
            stopped=not failure.retryable,
        )
        return failure
    SheetSync.objects.filter(pk=sync.pk).update(
        changes_synced=changes_written, last_success_at=timezone.now(), last_error="", attempts=0, stopped=False
    )
    return None


def postpone_sync(course_id, countdown):
    SheetSync.objects.filter(course_id=course_id).update(next_sync_at=timezone.now() + timedelta(seconds=countdown))


def release_sync(course_id, succeeded):
    """The queued sync is over. Returns whether changes came in while it wrote: they need
    another one."""
    SheetSync.objects.filter(course_id=course_id).update(next_sync_at=None)
    behind = SheetSync.objects.filter(course_id=course_id).exclude(changes_seen=F("changes_synced"))
    return succeeded and behind.exists()


def courses_with_sheets():
    ensure_sheet_syncs(Course.objects.values_list("pk", flat=True))
    return SheetSync.objects.values_list("course_id", flat=True)


def sheet_sync_problem(course):
    """A sentence for the course page when its sheets are behind because of an error, else ""."""
    sync = SheetSync.objects.filter(course=course).first()
    if sync is None or not sync.last_error:
        return ""
    if sync.stopped:
        return f"Google Sheets sync stopped: {sync.last_error}"
    return f"Google Sheets is behind after {sync.attempts} failed attempt(s): {sync.last_error}"
