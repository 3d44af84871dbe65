"""How the site writes a session's time, wherever a person reads it: pages (the session_time
filter, students/templatetags/people.py), e-mails, messages, files and the Sheets grid. In the
school's time zone, with Django's date formats, so that the names of days and months follow the
language of the page.

Each form is named after where it is read; a new place picks one of them rather than a format of
its own. The formats are translated like Django's own DATE_FORMAT (msgctxt "date format" in
locale/*/LC_MESSAGES/django.po): Vietnamese writes "Thứ 2, 2/3/2026, 09:00 đến 10:00"."""

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import pgettext_lazy

# form: (how the start is written, how the end follows it; "" for none). Translated formats are
# marked with their context where they stand, so that makemessages finds them.
SESSION_FORMS = {
    # a page about the session: Monday 2 March 2026, 09:00–10:00
    "heading": (pgettext_lazy("date format", "l j F Y, H:i"), "–H:i"),
    # an e-mail: Monday 2 March 2026, 09:00 to 10:00 (GMT)
    "letter": (pgettext_lazy("date format", "l j F Y, H:i"), pgettext_lazy("date format", r" \t\o H:i (T)")),
    # a list or a message: Mon 2 Mar 2026, 09:00–10:00
    "list": (pgettext_lazy("date format", "D j M Y, H:i"), "–H:i"),
    # the day alone, beside "hours": Mon 2 Mar 2026
    "day": (pgettext_lazy("date format", "D j M Y"), ""),
    "hours": ("H:i", "–H:i"),  # the hours alone, as today's sessions show them: 09:00–10:00
    "brief": (pgettext_lazy("date format", "D j M H:i"), ""),  # a subject line or a label: Mon 2 Mar 09:00
    "next": (pgettext_lazy("date format", r"D j M \a\t H:i"), ""),  # a session to come: Tue 5 Jan at 09:00
    # the head of a column of the attendance grid, above "start": 2 Mar
    "column": (pgettext_lazy("date format", "j M"), ""),
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
