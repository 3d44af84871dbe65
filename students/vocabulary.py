"""The words for a session's state and a student's status in a session, the same on every page,
in the API, the CSV and the Sheets mirror. Keys are what the code and the API's machine-readable
fields use; the words are what people read (translated). students/overview.py decides which
applies (session_state, student_status); nothing else spells them."""

from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

# A session's state.
TO_COME, IN_PROGRESS, NOT_TAKEN, TAKEN, CANCELLED = "to_come", "in_progress", "not_taken", "taken", "cancelled"
SESSION_STATES = {
    TO_COME: _("to come"),
    IN_PROGRESS: _("in progress"),
    # Over, and nobody took attendance (no photo, no mark, no close): it counts nowhere.
    NOT_TAKEN: _("not taken"),
    TAKEN: _("taken"),
    CANCELLED: _("cancelled"),
}

# A student's status in a session. The first four are an attendance record's statuses.
PRESENT, LATE, ABSENT, EXCUSED = "present", "late", "absent", "excused"
NOT_MARKED_YET, NOT_ENROLLED = "not_marked_yet", "not_enrolled"
STUDENT_STATUSES = {
    PRESENT: _("present"),
    LATE: _("late"),
    ABSENT: _("absent"),
    EXCUSED: _("excused"),
    # The session is on (or nobody has taken it yet) and nothing is recorded for the student.
    NOT_MARKED_YET: _("not marked yet"),
    # The session was never taken: the student is not absent from it.
    NOT_TAKEN: _("not taken"),
    # The session is outside the student's membership of the course.
    NOT_ENROLLED: _("not enrolled then"),
}
RECORD_STATUSES = [PRESENT, LATE, ABSENT, EXCUSED]
# The attendance grid's one-letter cells; the others are a dash, with the word as the title.
LETTERS = {PRESENT: _("P"), LATE: _("L"), ABSENT: _("A"), EXCUSED: _("E")}


def status_word(key):
    return STUDENT_STATUSES[key]


def session_word(key):
    return SESSION_STATES[key]


def record_status_choices():
    """An attendance record's choices: (key, the word with a capital)."""
    return [(key, capfirst(STUDENT_STATUSES[key])) for key in RECORD_STATUSES]
