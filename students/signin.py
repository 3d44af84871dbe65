"""Sign-in with the school's Google Workspace or Microsoft 365 account (django-allauth's OpenID
Connect client, configured in settings.SCHOOL_SIGNIN_APPS).

The provider vouches for an e-mail address; Roll Call signs in the one active login that has
that address, when the provider says it verified it and its domain is the school's. Logins are
made by the school's admins only: nobody gets one by signing in, and no link between a provider
account and a login is stored, so the address is checked again at every sign-in.
"""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _

UNKNOWN_ADDRESS = _("No Roll Call login uses this address; ask the school office.")
UNVERIFIED_ADDRESS = _("{provider} has not verified the e-mail address {email}, so it cannot sign you in.")
OUTSIDE_SCHOOL = _("{email} is not a school address: sign in with your school account.")
SIGN_IN_FAILED = _("Signing in with {provider} did not work. Try again, or log in with your password.")

# Google and most providers say so in email_verified; Microsoft in xms_edov ("email domain
# owner verified"), an optional claim of its ID tokens.
VERIFIED_EMAIL_CLAIMS = ("email_verified", "xms_edov")


def provider_claims(sociallogin):
    """What the provider says about the person: the userinfo answer, overridden by the ID token
    (what the provider signed) where both say something."""
    extra = sociallogin.account.extra_data
    return {**extra.get("userinfo", {}), **extra.get("id_token", {})}


def is_verified(claims):
    return any(claims.get(claim) is True for claim in VERIFIED_EMAIL_CLAIMS)


def is_school_address(email):
    return email.rpartition("@")[2].lower() in settings.SIGNIN_EMAIL_DOMAINS


def login_with_address(email):
    """The one active login with this e-mail address, or None (also when several share it: the
    provider's word cannot say which of them it is)."""
    logins = list(User.objects.filter(email__iexact=email, is_active=True)[:2])
    return logins[0] if len(logins) == 1 else None


def refuse(request, message):
    messages.error(request, message)
    raise ImmediateHttpResponse(redirect("login"))


class SchoolAccountAdapter(DefaultSocialAccountAdapter):
    def pre_social_login(self, request, sociallogin):
        claims = provider_claims(sociallogin)
        provider = sociallogin.account.get_provider().name
        email = (claims.get("email") or "").strip()
        if not email or not is_verified(claims):
            refuse(request, UNVERIFIED_ADDRESS.format(provider=provider, email=email or "(none)"))
        if not is_school_address(email):
            refuse(request, OUTSIDE_SCHOOL.format(email=email))
        user = login_with_address(email)
        if user is None:
            refuse(request, UNKNOWN_ADDRESS)
        # An existing user makes allauth log this person in rather than sign them up.
        sociallogin.user = user

    def is_open_for_signup(self, request, sociallogin):
        return False

    def on_authentication_error(self, request, provider, error=None, exception=None, extra_context=None):
        refuse(request, SIGN_IN_FAILED.format(provider=provider.name))

    def list_apps(self, request, provider=None, client_id=None):
        # Only the providers of the settings: a provider added in the admin's database would
        # vouch for addresses nobody at the school chose to trust.
        return [app for app in super().list_apps(request, provider, client_id) if app.pk is None]


class NoSignupAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        return False

    def add_message(self, request, level, message_template=None, message_context=None, extra_tags="", message=None):
        # allauth's notices ("Successfully signed in as <user name>.") repeat what the page
        # header says, by the user name; the password login shows none either.
        pass
