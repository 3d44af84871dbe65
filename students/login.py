"""Both logins, the site's and the admin's, count attempts the same way: per address and per
user name, so neither one machine nor many machines can guess a password quickly. The password
reset form is limited the same way, per address and per e-mail address."""

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.contrib.auth.views import LoginView, PasswordResetDoneView, PasswordResetView
from django.contrib.sites.shortcuts import get_current_site
from django.core.exceptions import ValidationError
from django.forms.forms import NON_FIELD_ERRORS
from django.utils.translation import gettext_lazy as _

from access.roles import is_school_admin
from attendance_site.ratelimit import client_address, over_limit

from .names import person_label
from .passwords import address_key, lifetime_words
from .tasks import send_password_reset

TOO_MANY_ATTEMPTS = _("Too many login attempts. Wait a minute, then try again.")
TOO_MANY_ATTEMPTS_CODE = "too_many_attempts"
TOO_MANY_RESETS = _("Too many password reset requests. Wait an hour, then try again.")


class AttemptLimit:
    """For a login form: counts the attempt, and past the limit refuses it before the password
    is checked."""

    def clean(self):
        limit = settings.LOGIN_RATE_LIMIT
        # The cleaned user name is what authenticate() is given (stripped, NFKC-normalised), so
        # every spelling that reaches the same account counts against it.
        username = self.cleaned_data.get("username")
        by_address = over_limit("login-address", client_address(self.request), limit, 60)
        by_username = bool(username) and over_limit("login-user", username, limit, 60)
        if by_address or by_username:
            raise ValidationError(TOO_MANY_ATTEMPTS, code=TOO_MANY_ATTEMPTS_CODE)
        return super().clean()


class LoginForm(AttemptLimit, AuthenticationForm):
    pass


class AdminLoginForm(AttemptLimit, AdminAuthenticationForm):
    def confirm_login_allowed(self, user):
        # Django's form lets in any staff user; the admin is for the school admins only.
        super().confirm_login_allowed(user)
        if not is_school_admin(user):
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


def answer_429_when_refused(response):
    form = (getattr(response, "context_data", None) or {}).get("form")
    if form is not None and form.has_error(NON_FIELD_ERRORS, TOO_MANY_ATTEMPTS_CODE):
        response.status_code = 429
    return response


class RateLimitedLoginView(LoginView):
    form_class = LoginForm

    def form_invalid(self, form):
        return answer_429_when_refused(super().form_invalid(form))


class ResetRequestLimit(PasswordResetForm):
    """Counts every request per address and per e-mail address, known or not, so the form can
    neither flood someone's inbox nor tell by its answer which addresses have a login. An
    e-mail address is counted under every spelling that reaches the same login (address_key).

    Saving only queues the e-mail for the worker (students/passwords.py), the same for every
    address: neither the answer nor its timing says whether a login uses it."""

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def clean(self):
        limit = settings.PASSWORD_RESET_RATE_LIMIT
        email = self.cleaned_data.get("email", "")
        by_address = over_limit("reset-address", client_address(self.request), limit, 3600)
        by_email = bool(email) and over_limit("reset-email", address_key(email), limit, 3600)
        if by_address or by_email:
            raise ValidationError(TOO_MANY_RESETS, code=TOO_MANY_ATTEMPTS_CODE)
        return super().clean()

    def save(self, use_https=False, request=None, **kwargs):
        domain = get_current_site(request).domain
        send_password_reset.delay_on_commit(self.cleaned_data["email"], domain, use_https)


class RateLimitedPasswordResetView(PasswordResetView):
    form_class = ResetRequestLimit

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def form_invalid(self, form):
        return answer_429_when_refused(super().form_invalid(form))


class ResetLinkSentView(PasswordResetDoneView):
    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "valid_for": lifetime_words(settings.PASSWORD_RESET_TIMEOUT)}


class PeopleByNameAutocomplete(AutocompleteJsonView):
    """The admin's search-as-you-type pickers, which name a login by its person, as the
    selected value is named (admin_forms.person_label)."""

    def serialize_result(self, obj, to_field_name):
        result = super().serialize_result(obj, to_field_name)
        if isinstance(obj, get_user_model()):
            result["text"] = person_label(obj)
        return result


class RollCallAdminSite(admin.AdminSite):
    """The admin, for school admins only (access/roles.py), with its login limited like
    the site's (attendance_site.apps.RollCallAdminConfig)."""

    login_form = AdminLoginForm
    site_header = _("Roll Call administration")
    site_title = _("Roll Call admin")
    index_title = _("Students, courses and attendance")

    def autocomplete_view(self, request):
        return PeopleByNameAutocomplete.as_view(admin_site=self)(request)

    def has_permission(self, request):
        return is_school_admin(request.user)

    def login(self, request, extra_context=None):
        return answer_429_when_refused(super().login(request, extra_context))
