"""The site's words for people and sessions on pages: the same functions e-mails, messages and
files use (students/names.py, students/times.py)."""

from django import template
from django.utils.translation import pgettext_lazy

from students import names, times
from students.models import AttendanceRecord

register = template.Library()


@register.filter
def person_name(user):
    """What to call a person (names.person_name)."""
    return names.person_name(user)


@register.filter
def session_time(session, form="list"):
    """When the session is, in one of times.SESSION_FORMS: {{ session|session_time:"heading" }}."""
    return times.session_time(session, form)


@register.filter
def status_name(status):
    """An attendance status as the page's language names it: "present" → "Present" / "Có mặt"."""
    return dict(AttendanceRecord.STATUS_CHOICES).get(status, status)


# The attendance grid's one-letter cells, explained by the grid's caption in the same language.
STATUS_LETTERS = {
    AttendanceRecord.PRESENT: pgettext_lazy("attendance grid: present", "P"),
    AttendanceRecord.LATE: pgettext_lazy("attendance grid: late", "L"),
    AttendanceRecord.ABSENT: pgettext_lazy("attendance grid: absent", "A"),
    AttendanceRecord.EXCUSED: pgettext_lazy("attendance grid: excused", "E"),
}


@register.filter
def status_letter(status):
    return STATUS_LETTERS.get(status, "")
