"""Every e-mail Roll Call sends goes out through send_email: the notices (notices.py), a new
teacher's invitation (teachers.py) and a password reset link (passwords.py). Plain text, from
DEFAULT_FROM_EMAIL, through Django's e-mail backend: printed to the console until EMAIL_HOST
names the school's server (docs/configuration.md)."""

from django.core.mail import EmailMessage


def send_email(subject, body, to, headers=None):
    """Send one message to one address. Raises what the backend raises when it cannot
    (smtplib.SMTPException, OSError; ValueError for a header it refuses to write)."""
    EmailMessage(subject, body, to=[to], headers=headers or {}).send()
