from django.conf import settings
from django.contrib.auth.views import LoginView

from attendance_site.ratelimit import client_address, over_limit

TOO_MANY_ATTEMPTS = "Too many login attempts. Wait a minute, then try again."


class RateLimitedLoginView(LoginView):
    """Django's login, with attempts counted per address and per user name, so neither one
    machine nor many machines can guess a password quickly."""

    def post(self, request, *args, **kwargs):
        limit = settings.LOGIN_RATE_LIMIT
        username = request.POST.get("username", "").strip().lower()[:150]
        by_address = over_limit("login-address", client_address(request), limit, 60)
        by_username = username and over_limit("login-user", username, limit, 60)
        if by_address or by_username:
            # The password is not even checked: the form is shown again, unbound.
            form = self.get_form_class()(request, initial={"username": username})
            context = self.get_context_data(form=form, too_many_attempts=TOO_MANY_ATTEMPTS)
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)
