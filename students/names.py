"""Names of people: what to call a person wherever they are named (person_name, for pages through
the person_name filter, students/templatetags/people.py), and names as people write them: one
line of text. A line break, a tab or another control character in a name is never meant, and
breaks what the name is put into (an e-mail's subject refuses it, a CSV row or a log line
splits). Forms refuse them, saying so; whatever writes a name without a form (an import, a
script) has them replaced by a space as the row is saved (students/models.py)."""

import re

from django.core.exceptions import ValidationError

# C0 and C1 controls, DEL, the Unicode line and paragraph separators, and the bidirectional
# overrides and isolates (which make a name display as another).
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")
NOT_ONE_LINE = "Write it on one line: it has a line break, a tab or another control character."


def person_name(user):
    """What to call a person: the name on their login, else their student record's name (a
    student's login often has none of its own), else the user name; "" for no one."""
    if user is None:
        return ""
    student = getattr(user, "student", None)
    return user.get_full_name() or (student.full_name if student else "") or user.get_username()


def person_label(user):
    """How a login is shown in a picker: the person's name, and the login to tell namesakes apart."""
    full_name = user.get_full_name()
    return f"{full_name} ({user.username})" if full_name else user.username


def has_control_characters(value):
    return bool(CONTROL_CHARACTERS.search(value or ""))


def refuse_control_characters(value):
    """A name field's validator."""
    if has_control_characters(value):
        raise ValidationError(NOT_ONE_LINE, code="control_characters")


def one_line(value):
    """The name with each run of control characters replaced by a space."""
    return CONTROL_CHARACTERS.sub(" ", value).strip() if has_control_characters(value) else value
