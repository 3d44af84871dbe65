"""A student's login, as a teacher's is made (students/teachers.py): named by their e-mail
address, with no usable password, and an e-mail with the link to choose one. The same link, the
same lifetime (INVITATION_TIMEOUT) and the same e-mail path (students/mail.py)."""

from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from .mail import send_email
from .names import person_name
from .passwords import lifetime_words
from .teachers import set_password_link, split_full_name


def student_invitation_text(user, student, link):
    return _(
        "Hello %(name)s,\n\n"
        "You have a Roll Call login to see your own attendance (%(number)s).\n"
        "Your login name is %(login)s. Choose your password here (the link works once, for %(valid_for)s):\n\n"
        "%(link)s\n\n"
        'When it has stopped working, use "Forgot password?" on the login page.\n'
    ) % {
        "name": person_name(user),
        "number": student.student_number,
        "login": user.username,
        "valid_for": lifetime_words(settings.INVITATION_TIMEOUT),
        "link": link,
    }


def why_not_invitable(student):
    """Why the student cannot be invited, or "" when they can."""
    if not student.is_active:
        return _("no longer at the school")
    if not student.email:
        return _("no e-mail address")
    if student.user_id and student.user.has_usable_password():
        return _("has a login with a password already")
    if not student.user_id and get_user_model().objects.filter(username__iexact=student.email).exists():
        return _("another login is named %(email)s") % {"email": student.email}
    return ""


def invite_student(student, site_url):
    """Create the student's login from their e-mail (or keep the one without a password they
    have: the invitation is sent again) and send the invitation. Raises what the mail backend
    raises when it cannot send, and then no login is created."""
    with transaction.atomic():
        user = student.user
        if user is None:
            first_name, last_name = split_full_name(student.full_name)
            user = get_user_model().objects.create_user(
                username=student.email, email=student.email, password=None, first_name=first_name, last_name=last_name
            )
            student.user = user
            student.save(update_fields=["user"])
        # Sent inside the transaction: a failed send leaves no login that nobody can open.
        send_email(
            _("Your Roll Call login"),
            student_invitation_text(user, student, set_password_link(user, site_url)),
            user.email,
        )
    return user


@dataclass
class Invited:
    sent: list = field(default_factory=list)
    skipped: list = field(default_factory=list)  # [(student, why)]
    failed: list = field(default_factory=list)  # [(student, error)]


def invite_students(students, site_url):
    """Invite each student who can be; one failed send does not stop the others."""
    outcome = Invited()
    for student in students:
        why = why_not_invitable(student)
        if why:
            outcome.skipped.append((student, why))
            continue
        try:
            invite_student(student, site_url)
        except OSError as error:  # smtplib.SMTPException is an OSError
            outcome.failed.append((student, error))
        else:
            outcome.sent.append(student)
    return outcome
