import json as jsonlib

from django.core.management.base import BaseCommand, CommandError

from recognition.engine.draw import annotate
from recognition.engine.images import ImageRejected, load_image
from recognition.processing import face_engine, recognise
from students.models import Course, Student


class Command(BaseCommand):
    help = (
        "Recognise the faces in a photo against the enrolled students of a course (or all "
        "students). Embeds any enrolment photo that lacks a vector first, so no worker is needed."
    )

    def add_arguments(self, parser):
        parser.add_argument("photo")
        parser.add_argument("--course", help="Match against this course's students only.")
        parser.add_argument("--annotate", metavar="OUT.jpg", help="Write the photo with boxes and names here.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object instead of text.")

    def handle(self, photo, course=None, annotate=None, json=False, **options):
        students = self.students_of(course)
        try:
            image = load_image(photo)
        except (ImageRejected, FileNotFoundError) as error:
            raise CommandError(f"{photo}: {error}")
        faces, matches, _ = recognise(image, students, face_engine())
        names = dict(Student.objects.filter(pk__in=[m.label for m in matches if m.label]).values_list("pk", "full_name"))
        rows = [
            {
                "box": [round(v) for v in face.box],
                "student": names.get(match.label),
                "distance": None if match.distance is None else round(match.distance, 4),
            }
            for face, match in zip(faces, matches)
        ]
        if annotate:
            annotate_to(image, rows, annotate)
        if json:
            self.stdout.write(jsonlib.dumps({"faces": rows}))
            return
        self.stdout.write(f"{len(rows)} face(s) in {photo}")
        for row in rows:
            who = row["student"] or "unknown"
            distance = "" if row["distance"] is None else f" (distance {row['distance']:.3f})"
            self.stdout.write(f"  {row['box']}: {who}{distance}")

    def students_of(self, course_code):
        if not course_code:
            return Student.objects.filter(is_active=True)
        course = Course.objects.filter(code=course_code).first()
        if course is None:
            raise CommandError(f"No course with code {course_code!r}.")
        return course.students.filter(is_active=True)


def annotate_to(image, rows, path):
    annotate(image, [(row["box"], row["student"]) for row in rows]).save(path, quality=92)
