"""The site's own 403 and 404 pages, for what a view refuses, whether DEBUG is on or off.

Django shows its technical 404 (the URL patterns, the settings) whenever DEBUG is on; under
`make run` that is every page a teacher opens by mistake. Here a view's Http404 or
PermissionDenied always gets the friendly page. A URL that matches no pattern never reaches a
view, so with DEBUG on it still gets Django's technical page, which is what a developer needs.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render


class NotYours(Http404):
    """A 404 whose message the page shows. Raised for what is out of the caller's reach and for
    what does not exist alike, so the page says both the same way and tells nobody which."""


class FriendlyErrorPages:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, Http404):
            message = str(exception) if isinstance(exception, NotYours) else ""
            return render(request, "404.html", {"message": message}, status=404)
        if isinstance(exception, PermissionDenied):
            return render(request, "403.html", status=403)
        return None
