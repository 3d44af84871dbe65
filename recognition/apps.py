from django.apps import AppConfig


class RecognitionConfig(AppConfig):
    name = "recognition"
    verbose_name = "Face recognition"

    def ready(self):
        from . import people  # noqa: F401  (its signal keeps a person's running sum when a face goes)
