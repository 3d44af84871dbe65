from django.core.management.base import BaseCommand

from recognition.management.commands.seal_face_data import run
from recognition.models import FaceKeyRotation


class Command(BaseCommand):
    help = (
        "Seal every face descriptor and face image again under FACE_DATA_KEY's first key, while the "
        "old keys after it still read (FACE_DATA_KEY=new,old), showing progress. What is under the "
        "new key already is left alone: stopped, it can be run again. Remove the old key once it has "
        "finished."
    )

    def handle(self, **options):
        run(self, FaceKeyRotation.ROTATE)
