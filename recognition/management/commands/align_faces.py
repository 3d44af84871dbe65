from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from recognition.engine.images import ImageRejected, load_image
from recognition.engine.pipeline import face_crop
from recognition.processing import face_engine


class Command(BaseCommand):
    help = (
        "Write a square crop of the largest face of every photo in IN_DIR to OUT_DIR, keeping the "
        "sub-folders: the detected box, resized to IMAGE_SIZE with MARGIN of those pixels around it. "
        "It only crops: the face is not turned or aligned by its landmarks (the embedders align "
        "for themselves). The name is the seed's align_dataset_mtcnn.py, which crops the same way."
    )

    def add_arguments(self, parser):
        parser.add_argument("in_dir")
        parser.add_argument("out_dir")
        parser.add_argument("--image-size", type=int, default=160)
        parser.add_argument("--margin", type=int, default=32)

    def handle(self, in_dir, out_dir, image_size, margin, **options):
        source, target = Path(in_dir), Path(out_dir)
        if not source.is_dir():
            raise CommandError(f"{source} is not a folder.")
        detector = face_engine().detector
        written = skipped = 0
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            try:
                image = load_image(path)
            except ImageRejected as error:
                self.stderr.write(f"Skipped {path}: {error}")
                skipped += 1
                continue
            faces = detector.detect(image)
            if not faces:
                self.stderr.write(f"Skipped {path}: no face found.")
                skipped += 1
                continue
            largest = max(faces, key=lambda face: face.area)
            out = (target / path.relative_to(source)).with_suffix(".png")
            out.parent.mkdir(parents=True, exist_ok=True)
            face_crop(image, largest.box, image_size, margin).save(out)
            written += 1
        self.stdout.write(self.style.SUCCESS(f"Cropped {written} face(s) into {target}; {skipped} photo(s) skipped."))
