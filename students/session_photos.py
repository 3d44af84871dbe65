"""The class photos of a session, as attendance needs to know them: how many are still being
recognised, and what the session page shows of them. The photos are recognition's
(recognition.models.Capture) and students does not import recognition: the app that keeps them
registers its answers here as it starts (recognition/apps.py). Until one does (the people app
on its own), a session has no photos.
"""

from django.db.models import Value


class NoPhotos:
    """What students asks of the app that keeps the sessions' photos; this one keeps none."""

    def being_recognised(self, session):
        """How many photos of the session are queued or being recognised now."""
        return 0

    def being_recognised_before_close(self):
        """For a query over ClassSession: a photo of the session, taken before its close, is
        still queued or being recognised (whoever it shows may still be marked)."""
        return Value(False)

    def any_photo(self):
        """For a query over ClassSession: the session has a photo."""
        return Value(False)

    def page_context(self, session, opened):
        """What the session page's photos part draws; opened: the ids of the earlier photos drawn
        in full, not only as a line."""
        return {}


_photos = NoPhotos()


def register(photos):
    """Called once, by the app that keeps the photos, as it starts."""
    global _photos
    _photos = photos


def session_photos():
    return _photos
