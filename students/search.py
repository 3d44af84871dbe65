"""Finding students by name as people type it: with or without Vietnamese tone marks and
diacritics ("Nguyen Thi Anh", "nguyễn ánh" and "NGUYEN" all find "Nguyễn Thị Ánh"), through the
folded column Student.search_name (names.search_key)."""

from django.db.models import Q

from .names import search_key


def matching_name(typed):
    """A filter on Student: every word typed appears, folded, in the folded name. Nothing typed
    matches nobody, so that it adds nothing to another search."""
    words = search_key(typed).split()
    if not words:
        return Q(pk__in=[])
    condition = Q()
    for word in words:
        condition &= Q(search_name__contains=word)
    return condition
