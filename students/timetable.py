"""A term's sessions from a weekly timetable (SessionSeries), and cancelling one occurrence.

Times are the school's local times (TIME_ZONE): a 09:00 lesson is at 09:00 on the clock before
and after the clocks change, so its UTC time moves by an hour across March and October.
"""

import re
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from .models import ClassSession, Room
from .schedule import clash_problem, length_problem
from .tasks import attendance_changed

# A school year of five lessons a week is about 200: more from one form is a typo in a date.
MAX_OCCURRENCES = 200
RANGE_SEPARATOR = re.compile(r"\s+to\s+|\s*\.\.\s*")


class TimetableError(ValueError):
    """A timetable that cannot make sessions; the message says what to change, field where."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


def parse_date(text):
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise TimetableError(_("%(text)r is not a date: write it as 2026-12-25.") % {"text": text.strip()}) from None


def parse_skip_dates(text):
    """The set of dates in "2026-12-25, 2026-10-26 to 2026-10-30" (commas or lines between)."""
    skipped = set()
    for item in filter(None, (part.strip() for part in re.split(r"[,;\n]", text or ""))):
        ends = RANGE_SEPARATOR.split(item)
        if len(ends) > 2:
            raise TimetableError(
                _("%(text)r is not a date or a range of dates (2026-10-26 to 2026-10-30).") % {"text": item}
            )
        first, last = parse_date(ends[0]), parse_date(ends[-1])
        if last < first:
            raise TimetableError(_("The range %(text)r ends before it starts.") % {"text": item})
        skipped.update(first + timedelta(days=offset) for offset in range((last - first).days + 1))
    return skipped


def occurrence_dates(weekdays, first_date, last_date, skipped=()):
    """Every date from first to last (both included) on one of the weekdays (Monday 0), in order,
    except the skipped ones."""
    days = (first_date + timedelta(days=offset) for offset in range((last_date - first_date).days + 1))
    return [day for day in days if day.weekday() in weekdays and day not in skipped]


def day_words(day):
    return date_format(day, pgettext("date format", "D j M Y"))


def check_timetable(weekdays, start_time, end_time, first_date, last_date, skip_dates):
    """The dates the timetable makes sessions on; TimetableError says why it cannot make any."""
    if not weekdays:
        raise TimetableError(_("Choose at least one weekday."), "weekdays")
    if end_time <= start_time:
        raise TimetableError(
            _("A session must end after it starts: %(end)s is not after %(start)s.")
            % {"end": f"{end_time:%H:%M}", "start": f"{start_time:%H:%M}"},
            "end_time",
        )
    # As long as on the clock (across a change of the clocks, an hour more or less in fact).
    too_long = length_problem(datetime.combine(first_date, start_time), datetime.combine(first_date, end_time))
    if too_long:
        raise TimetableError(too_long, "end_time")
    if last_date < first_date:
        raise TimetableError(
            _("The last date (%(last)s) is before the first (%(first)s).")
            % {"last": day_words(last_date), "first": day_words(first_date)},
            "last_date",
        )
    dates = occurrence_dates(weekdays, first_date, last_date, parse_skip_dates(skip_dates))
    if not dates:
        raise TimetableError(_("No session falls on the chosen weekdays between these dates."))
    if len(dates) > MAX_OCCURRENCES:
        raise TimetableError(
            _(
                "This timetable makes %(count)d sessions; at most %(most)d are made at once. Check the dates, or "
                "make the year in terms."
            )
            % {"count": len(dates), "most": MAX_OCCURRENCES}
        )
    return dates


def series_dates(series):
    return check_timetable(
        series.weekday_numbers,
        series.start_time,
        series.end_time,
        series.first_date,
        series.last_date,
        series.skip_dates,
    )


def local_moment(day, time_of_day):
    return timezone.make_aware(datetime.combine(day, time_of_day))


def occurrence(series, day):
    return ClassSession(
        course=series.course,
        series=series,
        series_date=day,
        starts_at=local_moment(day, series.start_time),
        ends_at=local_moment(day, series.end_time),
        room=series.room,
        late_after_minutes=series.late_after_minutes,
    )


def check_room_free_on(room, dates, start_time, end_time):
    """TimetableError, listing them, when the room is taken at these times on some of the dates."""
    if room is None:
        return
    taken = [day for day in dates if clash_problem(room, local_moment(day, start_time), local_moment(day, end_time))]
    if taken:
        shown = ", ".join(day_words(day) for day in taken[:5]) + (
            _(" and %(count)d more") % {"count": len(taken) - 5} if len(taken) > 5 else ""
        )
        raise TimetableError(
            _(
                "%(room)s is taken by another session at these times on %(dates)s. Choose another time or room, "
                "or add those dates to the dates with no session."
            )
            % {"room": room, "dates": shown},
            "room",
        )


@transaction.atomic
def create_series_sessions(series):
    """Make the series' sessions that do not exist yet; returns how many were made. A date
    already made (even if since moved or cancelled) is never made again, so this can run any
    number of times, and after the last date is moved later it makes only the new ones. Raises
    TimetableError when the room is taken on some of them (the form says so before saving)."""
    made = set(series.sessions.values_list("series_date", flat=True))
    if series.room_id:
        # Held until the commit: a session made meanwhile in the room cannot slip in between.
        Room.objects.select_for_update().filter(pk=series.room_id).values_list("pk", flat=True).first()
    dates = [day for day in series_dates(series) if day not in made]
    check_room_free_on(series.room, dates, series.start_time, series.end_time)
    missing = [occurrence(series, day) for day in dates]
    # The constraint on (series, series_date) holds against a second submit racing this one.
    ClassSession.objects.bulk_create(missing, ignore_conflicts=True)
    return len(missing)


@transaction.atomic
def set_cancelled(session, cancelled):
    """Cancel a session (it then counts nowhere) or restore it. Whatever was recorded in it is
    kept, so a restore brings it back as it was. Returns whether anything changed. A restore
    raises ValidationError when the session is too long or its room was taken meanwhile."""
    if session.is_cancelled == cancelled:
        return False
    session.cancelled_at = timezone.now() if cancelled else None
    session.save(update_fields=["cancelled_at"])
    # The Sheets grid leaves cancelled sessions out: it must be written again.
    attendance_changed(session.course_id)
    return True
