"""Every e-mail Roll Call sends goes out through send_email: the notices (notices.py), a new
teacher's invitation (teachers.py) and a password reset link (passwords.py). Plain text, from
DEFAULT_FROM_EMAIL, through Django's e-mail backend: printed to the console until EMAIL_HOST
names the school's server (docs/configuration.md).

Each message is written in its reader's language: the callers render it inside
translation.override(guardian_language(student)) or teacher_language(user)."""

from django.conf import settings
from django.core.mail import EmailMessage

from access.languages import preferred_language


def guardian_language(student):
    """The language of e-mails to a student's guardian: the student's own setting, else the
    school's GUARDIAN_EMAIL_LANGUAGE."""
    return student.email_language or settings.GUARDIAN_EMAIL_LANGUAGE


def teacher_language(user):
    """The language of e-mails to a login: the one it chose with the chooser, else the school's."""
    return preferred_language(user) or settings.LANGUAGE_CODE


def send_email(subject, body, to, headers=None):
    """Send one message to one address. Raises what the backend raises when it cannot
    (smtplib.SMTPException, OSError; ValueError for a header it refuses to write)."""
    EmailMessage(subject, body, to=[to], headers=headers or {}).send()
