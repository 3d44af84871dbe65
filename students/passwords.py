"""The links that let a person choose their own password: a reset link (Forgot password?) and a
new teacher's invitation. Each lives as long as one setting says, and the e-mail says the same:
PASSWORD_RESET_TIMEOUT for a reset, INVITATION_TIMEOUT for an invitation.

A reset reaches every active login with the address, a login with no usable password too: a
teacher imported from the school's system, or invited, has none until they choose one. It is
sent by the worker (students.tasks.send_password_reset), never during the request: the request
does the same for an address with a login and one without, so its timing tells nobody which
addresses have one."""

import logging
import unicodedata

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.template.loader import render_to_string
from django.utils.crypto import constant_time_compare
from django.utils.http import base36_to_int
from django.utils.translation import ngettext

from .mail import send_email

log = logging.getLogger(__name__)

UNITS = [
    (86400, lambda n: ngettext("%(count)d day", "%(count)d days", n)),
    (3600, lambda n: ngettext("%(count)d hour", "%(count)d hours", n)),
    (60, lambda n: ngettext("%(count)d minute", "%(count)d minutes", n)),
]


def lifetime_words(seconds):
    """'3 days', '1 day', '3 hours', '90 minutes': how long a link works, in the largest unit
    that says it exactly (minutes, rounded, when none does)."""
    for unit, words in UNITS:
        if seconds >= unit and seconds % unit == 0:
            return words(seconds // unit) % {"count": seconds // unit}
    minutes = max(1, round(seconds / 60))
    return UNITS[-1][1](minutes) % {"count": minutes}


def address_key(email):
    """The form of an e-mail address under which every spelling that reaches the same login is
    one: Django matches a reset's address to a login case-insensitively in the database
    (PostgreSQL's UPPER makes 'ſ' an 'S') and then by NFKC and casefold, so a per-address limit
    must count 'carl@ſchool.example' as 'carl@school.example'."""
    return unicodedata.normalize("NFKC", email).casefold()


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    """An invitation's link: Django's reset token, salted apart (a reset token is no invitation,
    nor the reverse), and valid INVITATION_TIMEOUT instead of PASSWORD_RESET_TIMEOUT. Like a
    reset's, it stops working once the password is set."""

    key_salt = "students.passwords.InvitationTokenGenerator"

    def check_token(self, user, token):
        if not (user and token):
            return False
        try:
            timestamp = base36_to_int(token.split("-")[0])
        except ValueError:
            return False
        if self._num_seconds(self._now()) - timestamp > settings.INVITATION_TIMEOUT:
            return False
        return any(
            constant_time_compare(self._make_token_with_timestamp(user, timestamp, secret), token)
            for secret in [self.secret, *self.secret_fallbacks]
        )


invitation_tokens = InvitationTokenGenerator()


class ResetLinkMail(PasswordResetForm):
    """Django's reset e-mail, for every active login with the address, whether or not it has a
    usable password yet."""

    def get_users(self, email):
        field = get_user_model().get_email_field_name()
        logins = get_user_model()._default_manager.filter(**{f"{field}__iexact": email, "is_active": True})
        return (user for user in logins if address_key(getattr(user, field)) == address_key(email))

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email, **kwargs):
        """Django's reset e-mail, written from its templates, sent as every e-mail of the site is;
        a failure is logged, as Django does, and never tells the requester anything."""
        subject = "".join(render_to_string(subject_template_name, context).splitlines())
        try:
            send_email(subject, render_to_string(email_template_name, context), to_email)
        except Exception:  # noqa: BLE001 - as Django's own form: logged, the next login's link still goes
            log.exception("Failed to send password reset email to %s", context["user"].pk)


def send_reset_links(email, domain, use_https):
    """E-mail a reset link to each login with this address (none: nothing is sent)."""
    mail = ResetLinkMail({"email": email})
    if mail.is_valid():
        mail.save(
            domain_override=domain,
            use_https=use_https,
            extra_email_context={"valid_for": lifetime_words(settings.PASSWORD_RESET_TIMEOUT)},
        )
