"""The captures of a session, as the people app asks for them (students/session_photos.py):
registered as recognition starts (apps.py)."""

from django.db.models import Exists, OuterRef

from students.session_photos import NoPhotos

from .models import Capture
from .queries import latest_captures

BEING_RECOGNISED = [Capture.QUEUED, Capture.PROCESSING]


class Captures(NoPhotos):
    def being_recognised(self, session):
        return session.captures.filter(status__in=BEING_RECOGNISED).count()

    def being_recognised_before_close(self):
        return Exists(
            Capture.objects.filter(
                session=OuterRef("pk"), status__in=BEING_RECOGNISED, taken_at__lt=OuterRef("closed_at")
            )
        )

    def any_photo(self):
        return Exists(Capture.objects.filter(session=OuterRef("pk")))

    def page_context(self, session, opened):
        # The same captures as the JSON the page polls, so that the two can be compared.
        return {"captures": latest_captures(session.captures), "opened": opened, "pending": BEING_RECOGNISED}
