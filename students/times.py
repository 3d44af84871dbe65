"""How the site writes a session's time, wherever a person reads it: pages (the session_time
filter, students/templatetags/people.py), e-mails, messages, files and the Sheets grid. In the
school's time zone, with Django's date formats, so that the names of days and months follow the
language of the page.

Each form is named after where it is read; a new place picks one of them rather than a format of
its own."""

from django.utils import timezone
from django.utils.formats import date_format

# form: (how the start is written, how the end follows it; "" for none)
SESSION_FORMS = {
    "heading": ("l j F Y, H:i", "–H:i"),  # a page about the session: Monday 2 March 2026, 09:00–10:00
    "letter": ("l j F Y, H:i", r" \t\o H:i (T)"),  # an e-mail: Monday 2 March 2026, 09:00 to 10:00 (GMT)
    "list": ("D j M Y, H:i", "–H:i"),  # a list or a message: Mon 2 Mar 2026, 09:00–10:00
    "day": ("D j M Y", ""),  # the day alone, beside "hours": Mon 2 Mar 2026
    "hours": ("H:i", "–H:i"),  # the hours alone, as today's sessions show them: 09:00–10:00
    "brief": ("D j M H:i", ""),  # a subject line or a label: Mon 2 Mar 09:00
    "next": (r"D j M \a\t H:i", ""),  # a session to come: Tue 5 Jan at 09:00
    "column": ("j M", ""),  # the head of a column of the attendance grid, above "start": 2 Mar
    "start": ("H:i", ""),  # 09:00
    "stamp": ("Y-m-d H:i", ""),  # files and the Sheets grid, which sort it as text: 2026-03-02 09:00
}


def session_time(session, form="list"):
    """When the session is, written in one of SESSION_FORMS."""
    start, end = SESSION_FORMS[form]
    written = date_format(timezone.localtime(session.starts_at), start)
    return written + (date_format(timezone.localtime(session.ends_at), end) if end else "")


def moment_stamp(moment):
    """A moment (a photo taken, a student first seen) as files write it: 2026-03-02 09:04:31;
    "" for none."""
    return date_format(timezone.localtime(moment), "Y-m-d H:i:s") if moment else ""
