"""Classroom cameras log in to the API with a device token: `Authorization: Token <token>`.

The token is shown once when an admin creates it; only its sha256 is stored, so a copy of the
database does not hand out working tokens. A request with a token is a device's: request.user
stays anonymous and request.auth is its DeviceToken (device_of). What a device may do is said
on each API view, by its permission classes (persons_and_devices, devices_only); what it
reaches, by the scoped querysets (students/permissions.py, recognition/permissions.py).
"""

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import authentication, exceptions, permissions

from .models import DeviceToken

KEYWORD = "Token"
# Cameras poll every second or two: record use at most once a minute rather than write per request.
LAST_USED_PRECISION = timedelta(minutes=1)


def hash_token(token):
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(device):
    """Give an unsaved DeviceToken a fresh token; returns the token, which is stored nowhere."""
    # The prefix says what the secret is when found in a log, and keeps it from starting with
    # "-", which a command line would read as an option.
    token = "rollcall_" + secrets.token_urlsafe(32)
    device.token_hash = hash_token(token)
    return token


class DeviceTokenAuthentication(authentication.BaseAuthentication):
    """request.user stays anonymous; request.auth is the DeviceToken."""

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].decode(errors="replace").lower() != KEYWORD.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Send the header as 'Authorization: Token <token>'."))
        device = DeviceToken.objects.filter(token_hash=hash_token(parts[1].decode(errors="replace"))).first()
        if device is None or not device.is_active:
            raise exceptions.AuthenticationFailed(
                _("This device token is unknown or was revoked; ask an admin for a new one.")
            )
        now = timezone.now()
        if device.last_used_at is None or now - device.last_used_at > LAST_USED_PRECISION:
            DeviceToken.objects.filter(pk=device.pk).update(last_used_at=now)
        return AnonymousUser(), device

    def authenticate_header(self, request):
        return KEYWORD


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    """Describes device tokens in the OpenAPI schema."""

    target_class = DeviceTokenAuthentication
    name = "deviceToken"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Token")


def device_of(request):
    return request.auth if isinstance(request.auth, DeviceToken) else None


def reach_of(request, for_device, for_person):
    """What an API request reaches: for_device(its device) when a token came, else
    for_person(its user); each a scoped queryset of students/ or recognition/permissions.py."""
    device = device_of(request)
    return for_device(device) if device else for_person(request.user)


class PersonOrDevice(permissions.BasePermission):
    """Any person logged in, for every method of the view; a classroom camera only for the
    methods the view opens to devices (device_methods), refused with `message` otherwise."""

    device_methods = frozenset()

    def has_permission(self, request, view):
        if device_of(request) is not None:
            return request.method in self.device_methods
        return request.user.is_authenticated


def persons_and_devices(*methods, refusal):
    """The permission class of an API view that classroom cameras also use, for these methods
    (GET brings HEAD and OPTIONS); a camera's other requests are refused, saying `refusal`."""
    allowed = set(methods) | ({"HEAD", "OPTIONS"} if "GET" in methods else set())
    return type("PersonOrDevice", (PersonOrDevice,), {"device_methods": frozenset(allowed), "message": refusal})


class DeviceOnly(permissions.BasePermission):
    """A route for classroom cameras alone."""

    message = _("This route is for classroom cameras; send class photos to /api/sessions/<id>/captures/.")

    def has_permission(self, request, view):
        return device_of(request) is not None
