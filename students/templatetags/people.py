"""The site's words for people and sessions on pages: the same functions e-mails, messages and
files use (students/names.py, students/times.py)."""

from django import template

from students import names, times

register = template.Library()


@register.filter
def person_name(user):
    """What to call a person (names.person_name)."""
    return names.person_name(user)


@register.filter
def session_time(session, form="list"):
    """When the session is, in one of times.SESSION_FORMS: {{ session|session_time:"heading" }}."""
    return times.session_time(session, form)
