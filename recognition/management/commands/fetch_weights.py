from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from recognition.engine.facenet import WEIGHTS_FILENAME, default_weights_path, fetch_facenet_weights


class Command(BaseCommand):
    help = (
        f"Install the FaceNet VGGFace2 weights ({WEIGHTS_FILENAME}): download them where the "
        "network allows, or copy a file you downloaded elsewhere with --from."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="source", metavar="PATH", help="A local copy of the weights file.")
        parser.add_argument(
            "--to",
            dest="dest",
            metavar="PATH",
            help="Where to install them (default: FACENET_WEIGHTS or the torch cache).",
        )

    def handle(self, source=None, dest=None, **options):
        dest = dest or settings.FACENET_WEIGHTS or default_weights_path()
        try:
            installed = fetch_facenet_weights(dest, source_file=source)
        except (RuntimeError, ValueError, OSError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"FaceNet weights installed at {installed}."))
        self.stdout.write(
            "FACE_EMBEDDER=auto uses FaceNet only once it is calibrated: run "
            "`bench/evaluate.py DATASET --embedder facenet` (writes recognition/engine/calibrations/"
            "facenet_vggface2.json), then restart the workers."
        )
