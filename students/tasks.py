"""Celery tasks that keep the Google Sheets mirror current and send the notices; the work is in
students/sheets.py and students/notices.py."""

from celery import shared_task
from django.conf import settings
from django.db import transaction

from . import notices, passwords, sheets


def attendance_changed(course_id):
    """Call inside the transaction that changed a course's attendance: the course is counted as
    behind in that same transaction, and its sync is queued once the change is committed."""
    sheets.count_change(course_id)
    transaction.on_commit(lambda: schedule_sync(course_id, settings.SHEETS_SYNC_DELAY_SECONDS))


def schedule_sync(course_id, delay):
    """Queue one sync of the course unless one is queued or running already."""
    claimed = sheets.claim_sync(course_id, delay)
    if claimed:
        sync_course_sheets.apply_async((course_id,), countdown=delay)
    return claimed


@shared_task(bind=True, max_retries=None)
def sync_course_sheets(self, course_id):
    """Write one course's sheets; quota, server and network errors retry with backoff until the
    write lands, errors that need a person stop and show in the admin."""
    failure = sheets.sync_course(course_id)
    countdown = sheets.retry_countdown(failure, self.request.retries)
    if countdown is None:
        if sheets.release_sync(course_id, succeeded=failure is None):
            schedule_sync(course_id, settings.SHEETS_SYNC_DELAY_SECONDS)
        return
    sheets.postpone_sync(course_id, countdown)
    raise self.retry(countdown=countdown)


@shared_task
def reconcile_sheets():
    """The periodic full re-sync: catches edits made outside attendance.py and lost tasks.
    Returns how many syncs were queued."""
    return sum(schedule_sync(course_id, 0) for course_id in sheets.courses_with_sheets())


# --- Notices (students/notices.py) ----------------------------------------------------------


@shared_task
def send_notices():
    """Every NOTICE_RUN_SECONDS (beat): record the absence notices and reminders now due, then
    send every unsent notice whose time has come, retries included."""
    notices.record_absence_notices()
    notices.record_attendance_reminders()
    return notices.send_due_notices()


@shared_task
def send_weekly_digests():
    """Weekly (beat, NOTICE_DIGEST_WEEKDAY at NOTICE_DIGEST_HOUR): the low-attendance digests."""
    notices.record_weekly_digests()
    return notices.send_due_notices()


# --- Password resets (students/passwords.py) ------------------------------------------------


@shared_task
def send_password_reset(email, domain, use_https):
    """The reset e-mail to each login with this address (none: nothing). The request only
    queues this, whatever the address, so that its timing tells nobody which have a login."""
    passwords.send_reset_links(email, domain, use_https)
