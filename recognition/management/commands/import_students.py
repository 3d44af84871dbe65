import argparse
import csv
import datetime
import hashlib
import io
import os
import re
import stat
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from recognition.engine.images import check_upload_size
from recognition.enrolment import add_enrolment_photo, consent_warning
from recognition.models import FacePhoto
from recognition.uploads import ImageRejected, check_photo_upload
from students.consent import record_consent
from students.models import Course, Membership, Student

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff", ".heic"}
# S00042_Ada_Lovelace: a student number (capitals and digits, at least one digit), then the name.
NUMBERED_FOLDER = re.compile(r"(?P<number>[A-Z]*\d[A-Z\d]*)_(?P<name>.+)")
NUMBER_MAX_LENGTH = Student._meta.get_field("student_number").max_length
LINK_SKIPPED = _("a symbolic link; links are never followed.")


class Clash(Exception):
    """A folder that may be another person's than the student it names; str() says why."""


def iso_date(text):
    try:
        return datetime.date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD).") from error


def next_student_number():
    # Imported students get S00001, S00002, ...; an admin can change them later.
    taken = set(Student.objects.filter(student_number__startswith="S").values_list("student_number", flat=True))
    n = len(taken) + 1
    while f"S{n:05d}" in taken:
        n += 1
    return f"S{n:05d}"


def read_roster(path):
    """{folder name: (student number, full name or "")} from a CSV file with the header
    folder,student_number[,full_name]."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns, rows = set(reader.fieldnames or ()), list(reader)
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(_("Cannot read the roster %(path)s: %(error)s") % {"path": path, "error": error}) from error
    if not {"folder", "student_number"} <= columns:
        raise CommandError(
            _("%(path)s needs a header row with the columns folder,student_number[,full_name].") % {"path": path}
        )
    roster = {}
    for line, row in enumerate(rows, start=2):
        folder, number = (row["folder"] or "").strip(), (row["student_number"] or "").strip()
        if not folder or not number:
            raise CommandError(
                _("%(path)s, line %(line)d: give the folder and its student number.") % {"path": path, "line": line}
            )
        roster[folder] = (number, (row.get("full_name") or "").strip())
    return roster


def folder_identity(folder_name, roster):
    """(student number or None, full name, whether the name must agree with the numbered
    student's) for a student folder: from the roster when it lists the folder, else from the
    folder name. A roster row without a name vouches for the number alone."""
    number, name, name_given = None, folder_name, True
    numbered = NUMBERED_FOLDER.fullmatch(folder_name)
    if numbered:
        number, name = numbered["number"], numbered["name"]
    if folder_name in roster:
        number, roster_name = roster[folder_name]
        name, name_given = roster_name or name, bool(roster_name)
    return number, " ".join(name.replace("_", " ").split()), name_given


def same_name(a, b):
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def sha256(content):
    return hashlib.sha256(content).hexdigest()


def is_usable_photo(path):
    try:
        content = read_regular_file(path)
        check_photo_upload(io.BytesIO(content), len(content))
    except (ImageRejected, OSError):
        return False
    return True


def holds_every_photo(student, photos):
    """True when the folder is this student's import run again: the student already holds at
    least one of its photos, byte for byte, and all of those that are photos at all."""
    held = set(student.face_photos.values_list("content_sha256", flat=True))
    new = [path for path, digest in photos if digest not in held]
    return len(new) < len(photos) and not any(is_usable_photo(path) for path in new)


def student_for_folder(number, full_name, name_given, photos):
    """(student, created) for a folder, or raise Clash. A student is found by number only;
    by name only when they already hold the folder's photos (the same import run again)."""
    if number:
        if len(number) > NUMBER_MAX_LENGTH:
            raise Clash(
                _("%(number)s is longer than a student number can be (%(most)d characters).")
                % {"number": number, "most": NUMBER_MAX_LENGTH}
            )
        student = Student.objects.filter(student_number=number).first()
        if student is None:
            return Student.objects.create(student_number=number, full_name=full_name), True
        if name_given and not same_name(student.full_name, full_name):
            raise Clash(
                _("student %(number)s is %(name)s, not %(other)s.")
                % {"number": number, "name": student.full_name, "other": full_name}
            )
        return student, False
    namesakes = list(Student.objects.filter(full_name__iexact=full_name))
    for student in namesakes:
        if holds_every_photo(student, photos):
            return student, False
    if namesakes:
        numbers = ", ".join(student.student_number for student in namesakes)
        raise Clash(
            _(
                "a student named %(name)s already exists (%(numbers)s) and does not hold this folder's photos. If it "
                "is them, name the folder <student number>_%(folder)s or list it in --roster."
            )
            % {"name": full_name, "numbers": numbers, "folder": full_name.replace(" ", "_")}
        )
    return Student.objects.create(full_name=full_name, student_number=next_student_number()), True


def read_regular_file(path):
    """A file's bytes, refusing a symbolic link even if one replaced the file after it was listed."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with open(descriptor, "rb") as handle:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise ImageRejected(_("not a regular file."))
        # Checked before reading: a huge file misnamed .jpg must not be read into memory.
        check_upload_size(info.st_size, settings.UPLOAD_MAX_BYTES)
        return handle.read()


def listed(folder):
    return sorted(os.scandir(folder), key=lambda entry: entry.name)


class Command(BaseCommand):
    help = (
        "Import students from a folder with one sub-folder of photos per student, named after the "
        "student (underscores read as spaces), optionally after their student number: S00042_Ada_Lovelace. "
        "Safe to run again: nothing is created twice. Symbolic links are never followed."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder")
        parser.add_argument("--course", help="Enrol every imported student in this course code (created when missing).")
        parser.add_argument(
            "--course-name",
            help='The name of the course --course creates, e.g. "Mathematics, year 1"; without it the name is left '
            "blank, to be filled in the admin. An existing course keeps its name.",
        )
        parser.add_argument(
            "--consent",
            metavar="GIVEN_BY",
            help="Record that consent to process face photos was given (by the students, or name the guardians' "
            "consent form); without it photos wait for consent to be recorded in the admin.",
        )
        parser.add_argument(
            "--member-from",
            metavar="YYYY-MM-DD",
            type=iso_date,
            help="With --course: the first day that counts for these students in the course (a student who joins "
            "mid-term is not absent from the sessions before). Without it a new place counts from the course's start "
            "and an existing one keeps its dates.",
        )
        parser.add_argument(
            "--member-until",
            metavar="YYYY-MM-DD",
            type=iso_date,
            help="With --course: the last day that counts for these students in the course.",
        )
        parser.add_argument(
            "--roster",
            metavar="FILE",
            help="A CSV file with the header folder,student_number[,full_name]: the student each folder holds.",
        )

    def handle(
        self,
        folder,
        course=None,
        course_name=None,
        consent=None,
        roster=None,
        member_from=None,
        member_until=None,
        **options,
    ):
        root = Path(folder)
        if not root.is_dir():
            raise CommandError(
                _("%(folder)s is not a folder. Give the folder that holds one sub-folder per student.")
                % {"folder": root}
            )
        if consent is not None and not consent.strip():
            raise CommandError(
                _("--consent needs who gave it: the students, or the name of the guardians' consent form.")
            )
        if course_name and not course:
            raise CommandError(_("--course-name names the course given with --course; give both."))
        if (member_from or member_until) and not course:
            raise CommandError(_("--member-from and --member-until date the place in the course given with --course."))
        if member_from and member_until and member_until < member_from:
            raise CommandError(_("--member-until is before --member-from."))
        self.dates = {"starts_on": member_from, "ends_on": member_until}
        roster = read_roster(roster) if roster else {}
        course_obj = self.course(course, course_name) if course else None
        totals = {"students": 0, "photos": 0, "skipped": 0, "folders skipped": 0}
        imported = []
        for entry in listed(root):
            if entry.is_symlink():
                self.skip(root / entry.name, LINK_SKIPPED, totals, "folders skipped")
            elif entry.is_dir(follow_symlinks=False):
                imported += self.import_one_student(root / entry.name, course_obj, consent, roster, totals)
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "Imported %(students)d new student(s) and %(photos)d new photo(s); %(skipped)d file(s) skipped; "
                    "%(folders)d folder(s) skipped."
                )
                % {
                    "students": totals["students"],
                    "photos": totals["photos"],
                    "skipped": totals["skipped"],
                    "folders": totals["folders skipped"],
                }
            )
        )
        if course_obj:
            waiting = consent_warning(course_obj.students.all(), course_obj.code)
        else:
            waiting = consent_warning(Student.objects.filter(pk__in=imported), _("this import"))
        if waiting:
            self.stderr.write(self.style.WARNING(waiting))

    def course(self, code, name):
        course, created = Course.objects.get_or_create(code=code, defaults={"name": (name or "").strip()})
        if created:
            if course.name:
                self.stdout.write(_("Created course %(code)s (%(name)s).") % {"code": code, "name": course.name})
            else:
                self.stdout.write(_("Created course %(code)s: give it a name in the admin.") % {"code": code})
        return course

    def place_in_course(self, course, student):
        membership, created = Membership.objects.get_or_create(course=course, student=student, defaults=self.dates)
        given = {field: day for field, day in self.dates.items() if day is not None}
        if given and not created:
            Membership.objects.filter(pk=membership.pk).update(**given)

    def skip(self, path, why, totals, counter="skipped"):
        self.stderr.write(_("Skipped %(path)s: %(why)s") % {"path": path, "why": why})
        totals[counter] += 1

    def import_one_student(self, student_dir, course, consent, roster, totals):
        """Import one student folder; returns [the student's id], or [] when it was skipped."""
        photos = self.read_photos(student_dir, totals)
        number, full_name, name_given = folder_identity(student_dir.name, roster)
        with transaction.atomic():
            try:
                student, created = student_for_folder(number, full_name, name_given, photos)
            except Clash as clash:
                self.skip(student_dir, clash, totals, "folders skipped")
                return []
            totals["students"] += created
            if course:
                self.place_in_course(course, student)
            if consent:
                # Before the photos are added, so each is queued for embedding once.
                record_consent(Student.objects.filter(pk=student.pk), None, consent)
        for path, _digest in photos:
            self.add_photo(student, path, totals)
        return [student.pk]

    def read_photos(self, student_dir, totals):
        """[(path, sha256)] of the folder's photo files, read one at a time; links, other files
        and unreadable ones are reported and skipped."""
        photos = []
        for entry in listed(student_dir):
            path = student_dir / entry.name
            if entry.is_symlink():
                self.skip(path, LINK_SKIPPED, totals)
            elif not entry.is_file(follow_symlinks=False):
                continue
            elif path.suffix.lower() not in PHOTO_SUFFIXES:
                self.skip(path, _("not a photo file type."), totals)
            else:
                try:
                    photos.append((path, sha256(read_regular_file(path))))
                except (ImageRejected, OSError) as error:
                    self.skip(path, error, totals)
        return photos

    def add_photo(self, student, path, totals):
        try:
            content = read_regular_file(path)
            # A copy (or a hard link) of another student's photo would teach the system their
            # face as this student's.
            if FacePhoto.objects.filter(content_sha256=sha256(content)).exclude(student=student).exists():
                raise ImageRejected(_("the same photo is enrolled for another student."))
            _photo, created = add_enrolment_photo(student, content, source=FacePhoto.IMPORT)
        except (ImageRejected, OSError) as error:
            self.skip(path, error, totals)
            return
        totals["photos"] += created
