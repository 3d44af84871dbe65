from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from recognition.key_rotation import bring_under_key
from recognition.models import FaceKeyRotation


def run(command, kind):
    """One run of bring_under_key, its progress written as it goes."""

    def progress(what, done, total):
        command.stdout.write(f"{what}: {done}/{total}")

    try:
        finished = bring_under_key(kind, progress)
    except ImproperlyConfigured as error:
        raise CommandError(str(error)) from None
    said = {"count": finished.resealed, "key": finished.key_id}
    command.stdout.write(_("Sealed %(count)d under key %(key)s.") % said)


class Command(BaseCommand):
    help = (
        "Seal the face descriptors and face images stored before FACE_DATA_KEY was set, under its "
        "first key, showing progress. What is sealed already is left alone: stopped, it can be run again."
    )

    def handle(self, **options):
        run(self, FaceKeyRotation.SEAL)
