"""Which language a page is in. LocaleMiddleware takes the chooser's cookie, else the browser's
Accept-Language, else LANGUAGE_CODE; a logged-in person's own preference, saved when they use
the chooser, beats all of them on every request, so it follows them to any browser they log in
from."""

from django.conf import settings
from django.utils import translation
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from .models import LanguagePreference


def preferred_language(user):
    """The language the login chose, or None."""
    if not user.is_authenticated:
        return None
    return LanguagePreference.objects.filter(user=user).values_list("language", flat=True).first()


class PreferredLanguageMiddleware:
    """After AuthenticationMiddleware: the logged-in person's language for this request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = preferred_language(request.user)
        if language and translation.check_for_language(language):
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)


def remember_language(user, language):
    if user.is_authenticated and language in dict(settings.LANGUAGES):
        LanguagePreference.objects.update_or_create(user=user, defaults={"language": language})


@require_POST
def choose_language(request):
    """Django's set_language (the cookie, then back to the page), and for a logged-in person
    their preference too."""
    response = set_language(request)
    remember_language(request.user, request.POST.get("language"))
    return response
