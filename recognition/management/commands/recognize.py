import json as jsonlib

from django.core.management.base import BaseCommand, CommandError

from recognition.engine.draw import annotate
from recognition.engine.images import ImageRejected, load_image
from recognition.enrolment import consent_warning
from recognition.processing import embed_missing_photos, face_engine, recognise
from students.models import Course, Student


class Command(BaseCommand):
    help = (
        "Recognise the faces in a photo against the enrolled students of a course (or all "
        "students), with the whole school as possible rivals, as the worker does. Embeds any "
        "enrolment photo that lacks a vector first, so no worker is needed."
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
            raise CommandError(f"{photo}: {error}") from error
        waiting = consent_warning(students, course or "the school")
        if waiting:
            self.stderr.write(self.style.WARNING(waiting))
        engine = face_engine()
        embed_missing_photos(Student.objects.with_consent(), engine)
        roster = list(students.values_list("pk", flat=True)) if course else None
        result = recognise(image, roster, engine)
        faces, decisions = result.faces, result.decisions
        rows = face_rows(faces, decisions)
        if annotate:
            annotate_to(image, rows, annotate)
        if json:
            self.stdout.write(jsonlib.dumps({"faces": rows}))
            return
        self.stdout.write(f"{len(rows)} face(s) in {photo}")
        for row in rows:
            suggestion = row["suggestion"]
            if row["student"]:
                who = row["student"]
            elif suggestion:
                who = f"unknown, perhaps {suggestion['student']} (needs a person to confirm)"
            else:
                who = "unknown"
            distance = "" if row["distance"] is None else f" (distance {row['distance']:.3f})"
            self.stdout.write(f"  {row['box']}: {who}{distance}")

    def students_of(self, course_code):
        if not course_code:
            return Student.objects.active()
        course = Course.objects.filter(code=course_code).first()
        if course is None:
            raise CommandError(f"No course with code {course_code!r}.")
        return course.students.active()


def face_rows(faces, decisions):
    """One row per face: `student` only for an automatic mark, `suggestion` for the grey zone,
    `distance` to the nearest student either way."""
    ids = [d.student for d in decisions if d.student is not None]
    names = dict(Student.objects.filter(pk__in=ids).values_list("pk", "full_name"))
    rows = []
    for face, decision in zip(faces, decisions):
        distance = None if decision.distance is None else round(decision.distance, 4)
        suggested = decision.suggested_student
        rows.append(
            {
                "box": [round(v) for v in face.box],
                "student": names.get(decision.marked_student),
                "suggestion": {"student": names.get(suggested), "distance": distance}
                if suggested is not None
                else None,
                "distance": distance,
            }
        )
    return rows


def annotate_to(image, rows, path):
    annotate(image, [(row["box"], row["student"]) for row in rows]).save(path, quality=92)
