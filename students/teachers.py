"""Adding a teacher: their login, in the Teacher group, listed on their courses, and an e-mail
that lets them choose their own password. Nobody else ever knows it: the login has no usable
password until they follow the link."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext_lazy as _

from access.roles import TEACHER_GROUP

from .mail import send_email
from .names import person_name
from .passwords import invitation_tokens, lifetime_words

INVITATION_SUBJECT = _("Your Roll Call login")


def split_full_name(full_name):
    """(first_name, last_name) for Django's User: the last word is the family name."""
    *given, family = full_name.split()
    return (" ".join(given), family) if given else (family, "")


def set_password_link(user, site_url):
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = invitation_tokens.make_token(user)
    path = reverse("invitation_confirm", kwargs={"uidb64": uidb64, "token": token})
    return site_url.rstrip("/") + path


def invitation_text(user, courses, link):
    valid_for = lifetime_words(settings.INVITATION_TIMEOUT)
    words = {
        "name": person_name(user),
        "courses": ", ".join(str(course) for course in courses) or _("none yet"),
        "username": user.username,
        "valid_for": valid_for,
    }
    return (
        _("Hello %(name)s,") % words
        + "\n\n"
        + _("You have a Roll Call login to take attendance in your courses (%(courses)s).") % words
        + "\n"
        + _("Your login name is %(username)s. Choose your password here (the link works once, for %(valid_for)s):")
        % words
        + f"\n\n{link}\n\n"
        + _('When it has stopped working, use "Forgot password?" on the login page.')
        + "\n"
    )


def invite_teacher(full_name, email, courses, site_url):
    """Create the teacher's login and send the invitation; returns the user. Raises what the mail
    backend raises when it cannot send (SMTPException, OSError), and then nothing is created."""
    first_name, last_name = split_full_name(full_name)
    with transaction.atomic():
        user = get_user_model().objects.create_user(
            username=email, email=email, password=None, first_name=first_name, last_name=last_name
        )
        user.groups.add(Group.objects.get_or_create(name=TEACHER_GROUP)[0])
        user.courses_taught.add(*courses)
        link = set_password_link(user, site_url)
        # Sent inside the transaction: a failed send leaves no login that nobody can open.
        send_email(INVITATION_SUBJECT, invitation_text(user, courses, link), email)
    return user
