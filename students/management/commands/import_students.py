from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from recognition.engine.images import check_upload_size
from recognition.enrolment import ImageRejected, add_enrolment_photo, record_consent
from students.models import Course, Student

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff", ".heic"}


def next_student_number():
    # Imported students get S00001, S00002, ...; an admin can change them later.
    taken = set(Student.objects.filter(student_number__startswith="S").values_list("student_number", flat=True))
    n = len(taken) + 1
    while f"S{n:05d}" in taken:
        n += 1
    return f"S{n:05d}"


class Command(BaseCommand):
    help = (
        "Import students from a folder with one sub-folder of photos per student, named after the "
        "student (underscores read as spaces). Safe to run again: nothing is created twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder")
        parser.add_argument("--course", help="Enrol every imported student in this course code (created when missing).")
        parser.add_argument(
            "--consent",
            metavar="GIVEN_BY",
            help="Record that consent to process face photos was given (by the students, or name the guardians' "
            "consent form); without it photos wait for consent to be recorded in the admin.",
        )

    def handle(self, folder, course=None, consent=None, **options):
        root = Path(folder)
        if not root.is_dir():
            raise CommandError(f"{root} is not a folder. Give the folder that holds one sub-folder per student.")
        course_obj = None
        if course:
            course_obj, created = Course.objects.get_or_create(code=course, defaults={"name": course})
            if created:
                self.stdout.write(f"Created course {course}.")
        totals = {"students": 0, "photos": 0, "skipped": 0}
        for student_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            self.import_one_student(student_dir, course_obj, consent, totals)
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {totals['students']} new student(s) and {totals['photos']} new photo(s); "
                f"{totals['skipped']} file(s) skipped."
            )
        )

    def import_one_student(self, student_dir, course, consent, totals):
        full_name = student_dir.name.replace("_", " ").strip()
        with transaction.atomic():
            student = Student.objects.filter(full_name=full_name).first()
            if student is None:
                student = Student.objects.create(full_name=full_name, student_number=next_student_number())
                totals["students"] += 1
            if course:
                course.students.add(student)
            if consent:
                # Before the photos are added, so each is queued for embedding once.
                record_consent(Student.objects.filter(pk=student.pk), None, consent)
        for path in sorted(p for p in student_dir.iterdir() if p.is_file()):
            if path.suffix.lower() not in PHOTO_SUFFIXES:
                self.stderr.write(f"Skipped {path}: not a photo file type.")
                totals["skipped"] += 1
                continue
            try:
                # Checked before reading: a huge file misnamed .jpg must not be read into memory.
                check_upload_size(path.stat().st_size, settings.UPLOAD_MAX_BYTES)
                _, created = add_enrolment_photo(student, path.read_bytes())
            except (ImageRejected, OSError) as error:
                self.stderr.write(f"Skipped {path}: {error}")
                totals["skipped"] += 1
                continue
            totals["photos"] += created
