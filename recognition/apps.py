from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecognitionConfig(AppConfig):
    name = "recognition"
    verbose_name = _("Face recognition")

    def ready(self):
        from students import session_photos

        from . import (
            enrolment,  # noqa: F401  (its receiver embeds the photos that waited for consent)
            people,  # noqa: F401  (its signal keeps a person's running sum when a face goes)
            retention,  # noqa: F401  (its receiver forgets the faces that mark nobody at a close)
            withdrawal,  # noqa: F401  (its receiver deletes the face data of a withdrawn consent)
        )
        from .session_photos import Captures

        session_photos.register(Captures())
