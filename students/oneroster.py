"""Rosters from the school's system: a OneRoster 1.1 CSV bundle (a zip or a folder) read, checked,
previewed and applied.

No maintained OneRoster library exists on PyPI; the files are plain CSV (UTF-8, a header row),
read here with the csv module.

    files = read_bundle(path)            # {file name: bytes}; BundleRefused for a bad zip or folder
    roster, errors = read_roster(files)  # errors: RosterError, "FILE line N: message"
    plan = plan_import(roster)           # what would change; writes nothing
    plan = apply_roster(roster, confirm_removals=False)  # the same plan, applied in one transaction

Students and courses are keyed by sourcedId (Student.sourced_id, Course.sourced_id), teachers by
RosterTeacher.sourced_id, never by name. Removals (people or enrolments no longer in the bundle,
or marked tobedeleted) are planned like everything else but only run when confirmed, and remove
nobody: a student is deactivated and taken off the imported courses, a teacher taken out of the
Teacher group and off the imported courses. Deleting a student (and their face data) stays the
admin's own act.
"""

import csv
import hashlib
import io
import json
import os
import stat
import zipfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from access.roles import ADMIN_GROUP, TEACHER_GROUP

from .models import Course, RosterTeacher, Student
from .names import has_control_characters

# The columns this import reads; a file may have more (OneRoster 1.1 lists them all).
COLUMNS = {
    "manifest.csv": ["propertyName", "value"],
    "orgs.csv": ["sourcedId", "status", "name"],
    "users.csv": [
        "sourcedId",
        "status",
        "orgSourcedIds",
        "role",
        "username",
        "givenName",
        "familyName",
        "identifier",
        "email",
    ],
    "classes.csv": ["sourcedId", "status", "title", "classCode", "courseSourcedId", "schoolSourcedId"],
    "enrollments.csv": ["sourcedId", "status", "classSourcedId", "schoolSourcedId", "userSourcedId", "role"],
    "courses.csv": ["sourcedId", "status"],
}
REQUIRED_FILES = ["manifest.csv", "orgs.csv", "users.csv", "classes.csv", "enrollments.csv"]
# academicSessions.csv is part of a bundle but nothing here depends on terms.
BUNDLE_FILES = [*COLUMNS, "academicSessions.csv"]
STATUSES = ("", "active", "tobedeleted")
STUDENT, TEACHER = "student", "teacher"

COURSES, TEACHERS, STUDENTS, OTHER_USERS, ENROLMENTS = "courses", "teachers", "students", "other users", "enrolments"
SECTIONS = [COURSES, TEACHERS, STUDENTS, OTHER_USERS, ENROLMENTS]
CREATE, UPDATE, UNCHANGED, REMOVE, IGNORED = "created", "updated", "unchanged", "would be removed", "left alone"
KINDS = [CREATE, UPDATE, UNCHANGED, REMOVE, IGNORED]

CONSENT_NOTE = (
    "Imported students have no consent recorded. Photos of these students are not processed until "
    'consent is recorded (admin action "Record consent").'
)
TEACHER_LOGIN_NOTE = (
    "New teacher logins have no usable password: the teachers set one with password reset or school sign-in."
)


# Why an existing login's changes wait for a person to confirm them by name (why_held).
ADMINS_LOGIN = "an admin's login"
NOT_MADE_HERE = "a login the import did not make"


class BundleRefused(Exception):
    """The bundle cannot be read at all: not a zip, a member outside it, too large, a link."""


class PreviewOutdated(Exception):
    """The roster or the database changed between the preview and the apply."""


@dataclass(frozen=True)
class RosterError:
    file: str
    line: int | None
    message: str

    def __str__(self):
        return f"{self.file} line {self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


@dataclass
class Row:
    file: str
    line: int
    values: dict

    def __getitem__(self, column):
        return (self.values.get(column) or "").strip()

    def list(self, column):
        return [value.strip() for value in self[column].split(",") if value.strip()]

    @property
    def is_deleted(self):
        return self["status"] == "tobedeleted"

    def error(self, message):
        return RosterError(self.file, self.line, message)


# Reading the bundle ------------------------------------------------------------------------------


def megabytes(nbytes):
    return f"{nbytes / 1_000_000:g} MB"


def read_bundle(path):
    """{file name: bytes} of the OneRoster files in a zip file or a folder."""
    path = Path(path)
    if path.is_dir():
        return read_folder(path)
    try:
        with open(path, "rb") as handle:
            return read_zip(handle)
    except OSError as error:
        raise BundleRefused(f"{path}: {error.strerror}.") from error


def is_inside_bundle(name):
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return bool(parts) and not name.startswith(("/", "\\")) and ".." not in parts and ":" not in parts[0]


def read_zip(fileobj):
    """Nothing is unpacked to disk: the known files at the zip's root are read into memory, at
    most ONEROSTER_MAX_BYTES in all, counting what is really inflated (a member's declared size
    can lie)."""
    limit = settings.ONEROSTER_MAX_BYTES
    too_large = BundleRefused(f"The bundle unpacks to more than {megabytes(limit)} (ONEROSTER_MAX_BYTES): refused.")
    try:
        archive = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, OSError) as error:
        raise BundleRefused(f"Not a zip file ({error}): upload the zip the school's system exported.") from error
    with archive:
        members = archive.infolist()
        for member in members:
            if not is_inside_bundle(member.filename):
                raise BundleRefused(f"{member.filename} points outside the bundle: refused.")
        if sum(member.file_size for member in members) > limit:
            raise too_large
        files, total = {}, 0
        for member in members:
            if member.filename not in BUNDLE_FILES:
                continue
            if member.filename in files:
                raise BundleRefused(f"{member.filename} is in the zip twice: refused.")
            try:
                with archive.open(member) as handle:
                    content = handle.read(limit - total + 1)
            except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError) as error:
                raise BundleRefused(f"{member.filename} cannot be unpacked ({error}).") from error
            total += len(content)
            if total > limit:
                raise too_large
            files[member.filename] = content
    return files


def read_folder(folder):
    """The known files of a folder; a symbolic link is refused, even one swapped in after listing."""
    limit = settings.ONEROSTER_MAX_BYTES
    files, total = {}, 0
    for name in BUNDLE_FILES:
        try:
            descriptor = os.open(folder / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except FileNotFoundError:
            continue
        except OSError as error:
            raise BundleRefused(f"{folder / name}: {error.strerror} (symbolic links are never followed).") from error
        with open(descriptor, "rb") as handle:
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                raise BundleRefused(f"{folder / name} is not a regular file.")
            content = handle.read(limit - total + 1)
        total += len(content)
        if total > limit:
            raise BundleRefused(f"The files of {folder} hold more than {megabytes(limit)} (ONEROSTER_MAX_BYTES).")
        files[name] = content
    return files


def zip_of(files):
    """The bundle's files as a small zip, carried by the admin's preview page to its Apply."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


# Reading and checking the roster -----------------------------------------------------------------


def parse_table(name, content, errors):
    """The rows of one CSV file, or None when it cannot be read at all (then nothing is checked
    against it); what is wrong is added to errors by line."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = content[: error.start].count(b"\n") + 1
        errors.append(RosterError(name, line, f"not UTF-8 (byte 0x{content[error.start]:02x}); export it as UTF-8."))
        return None
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    try:
        header = [column.strip() for column in next(reader, [])]
        missing = [column for column in COLUMNS.get(name, []) if column not in header]
        if missing:
            errors.append(RosterError(name, 1, f"missing column(s): {', '.join(missing)}."))
            return None
        start = reader.line_num + 1
        for fields in reader:
            line, start = start, reader.line_num + 1
            if not any(value.strip() for value in fields):
                continue
            if len(fields) != len(header):
                errors.append(RosterError(name, line, f"{len(fields)} fields where the header has {len(header)}."))
                continue
            rows.append(Row(name, line, dict(zip(header, fields, strict=True))))
    except csv.Error as error:
        errors.append(RosterError(name, reader.line_num, f"not readable as CSV ({error})."))
    return rows


def by_sourced_id(rows, errors):
    """{sourcedId: row}; an empty or repeated sourcedId, or an unknown status, is an error."""
    if rows is None:
        return None
    found = {}
    for row in rows:
        sourced_id = row["sourcedId"]
        if row["status"] not in STATUSES:
            errors.append(row.error(f"status {row['status']!r} is not active or tobedeleted."))
        elif not sourced_id:
            errors.append(row.error("sourcedId is empty."))
        elif sourced_id in found:
            errors.append(row.error(f"duplicate sourcedId {sourced_id} (also on line {found[sourced_id].line})."))
        else:
            found[sourced_id] = row
    return found


@dataclass
class Roster:
    users: dict
    classes: dict
    enrollments: dict

    def active(self, table, role=None):
        return {
            sourced_id: row
            for sourced_id, row in getattr(self, table).items()
            if not row.is_deleted and (role is None or row["role"].lower() == role)
        }


def read_roster(files):
    """(Roster, errors) from {file name: bytes}; the roster is usable only when errors is empty."""
    errors = [RosterError(name, None, "missing from the bundle.") for name in REQUIRED_FILES if name not in files]
    tables = {name: parse_table(name, content, errors) for name, content in files.items() if name in COLUMNS}
    check_manifest(tables.get("manifest.csv") or [], files, errors)
    indexed = {name: by_sourced_id(rows, errors) for name, rows in tables.items() if name != "manifest.csv"}
    orgs, courses = indexed.get("orgs.csv"), indexed.get("courses.csv")
    roster = Roster(*(indexed.get(name) or {} for name in ("users.csv", "classes.csv", "enrollments.csv")))
    check_users(roster, orgs, errors)
    check_classes(roster, orgs, courses, errors)
    check_enrollments(roster, orgs, indexed.get("users.csv"), indexed.get("classes.csv"), errors)
    file_order = {name: n for n, name in enumerate(BUNDLE_FILES)}
    return roster, sorted(set(errors), key=lambda e: (file_order.get(e.file, 99), e.line or 0, e.message))


def check_manifest(rows, files, errors):
    properties = {row["propertyName"]: row for row in rows}
    version = properties.get("oneroster.version")
    if "manifest.csv" in files and (version is None or version["value"] != "1.1"):
        where = version.line if version else None
        found = version["value"] if version else "missing"
        errors.append(RosterError("manifest.csv", where, f"oneroster.version is {found}; this import reads 1.1."))
    for name in BUNDLE_FILES:
        row = properties.get("file." + name.removesuffix(".csv"))
        mode = row["value"].lower() if row else ""
        if mode == "delta" and name in REQUIRED_FILES:
            errors.append(row.error(f"{name} is a delta file; export a bulk bundle (every user, class and enrolment)."))
        elif mode in ("bulk", "delta") and name not in files:
            errors.append(row.error(f"lists {name}, which is not in the bundle."))
        elif mode == "absent" and name in REQUIRED_FILES:
            errors.append(row.error(f"marks {name} absent; the import needs it."))


def check_references(row, column, known, what, errors):
    """Each id in the column must be in known; known is None when its file was unreadable."""
    if known is None:
        return
    for sourced_id in row.list(column):
        if sourced_id not in known:
            errors.append(row.error(f"unknown {what} {sourced_id} in {column}."))


def check_length(row, value, model, field_name, what, errors):
    limit = model._meta.get_field(field_name).max_length
    if len(value) > limit:
        shown = value if len(value) <= 60 else value[:57] + "..."
        errors.append(row.error(f"{what} {shown!r} is {len(value)} characters long; the most is {limit}."))


def check_one_line(row, columns, errors):
    for column in columns:
        if has_control_characters(row[column]):
            said = f"{column} {row[column]!r} is not one line: it has a line break or control character."
            errors.append(row.error(said))


def check_unique(row, value, seen, what, errors):
    if value in seen:
        errors.append(row.error(f"{what} {value} is also on line {seen[value].line}."))
    seen[value] = row


def check_users(roster, orgs, errors):
    numbers, usernames = {}, {}
    for row in roster.users.values():
        check_references(row, "orgSourcedIds", orgs, "org", errors)
        role = row["role"].lower()
        if role not in (STUDENT, TEACHER) or row.is_deleted:
            continue
        if not full_name(row):
            errors.append(row.error("givenName and familyName are both empty."))
        check_one_line(row, ["givenName", "familyName", "identifier", "username", "email"], errors)
        check_length(row, row["email"], User, "email", "email", errors)
        if row["email"]:
            try:
                validate_email(row["email"])
            except ValidationError:
                errors.append(row.error(f"email {row['email']!r} is not an e-mail address."))
        if role == STUDENT:
            check_length(row, student_number(row), Student, "student_number", "identifier", errors)
            check_length(row, full_name(row), Student, "full_name", "the name (givenName familyName)", errors)
            check_unique(row, student_number(row), numbers, "identifier", errors)
        else:
            check_length(row, row["givenName"], User, "first_name", "givenName", errors)
            check_length(row, row["familyName"], User, "last_name", "familyName", errors)
            try:
                User.username_validator(teacher_username(row))
            except ValidationError:
                errors.append(row.error(f"username {teacher_username(row)!r} has characters a login cannot have."))
            check_length(row, teacher_username(row), User, "username", "username", errors)
            check_unique(row, teacher_username(row), usernames, "username", errors)


def check_classes(roster, orgs, courses, errors):
    codes = {}
    for row in roster.classes.values():
        check_references(row, "schoolSourcedId", orgs, "org", errors)
        check_references(row, "courseSourcedId", courses, "course", errors)
        if row.is_deleted:
            continue
        if not row["classCode"]:
            errors.append(row.error("classCode is empty; it becomes the course's code."))
            continue
        check_one_line(row, ["classCode", "title"], errors)
        check_length(row, row["classCode"], Course, "code", "classCode", errors)
        check_length(row, course_name(row), Course, "name", "title", errors)
        check_unique(row, row["classCode"], codes, "classCode", errors)


def check_enrollments(roster, orgs, users, classes, errors):
    for row in roster.enrollments.values():
        check_references(row, "schoolSourcedId", orgs, "org", errors)
        check_references(row, "classSourcedId", classes, "class", errors)
        check_references(row, "userSourcedId", users, "user", errors)
        user = roster.users.get(row["userSourcedId"])
        role = row["role"].lower()
        if user and role in (STUDENT, TEACHER) and user["role"].lower() != role:
            said = f"user {row['userSourcedId']} is a {user['role']} in users.csv, enrolled as {role}."
            errors.append(row.error(said))


def full_name(row):
    return " ".join(name for name in (row["givenName"], row["familyName"]) if name)


def student_number(row):
    return row["identifier"] or row["sourcedId"]


def teacher_username(row):
    return row["username"] or row["email"] or row["sourcedId"]


def course_name(row):
    return row["title"] or row["classCode"]


def student_label(row):
    return f"{full_name(row)} ({student_number(row)})"


def member_label(person):
    return person.username if isinstance(person, User) else str(person)


# The plan ----------------------------------------------------------------------------------------


@dataclass
class Step:
    section: str
    kind: str
    rows: list
    run: Callable[[], None] | None = None
    # The existing login it changes when that is one the import may change only when a person
    # confirms it by name (Plan.held).
    login: str | None = None


@dataclass
class Plan:
    steps: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    removals_applied: bool = False
    # {login name: why}: existing logins this plan would change that the import did not make,
    # or an admin's; their steps run only when a person confirms each by name.
    held: dict = field(default_factory=dict)
    held_ids: dict = field(default_factory=dict)  # {user id: login name} of the same
    confirmed: list = field(default_factory=list)  # the held logins whose steps ran

    def add(self, section, kind, rows, run=None, login=None):
        if rows:
            self.steps.append(Step(section, kind, list(rows), run, login))

    def hold(self, user, why):
        self.held[user.username] = why
        self.held_ids[user.pk] = user.username

    def login_held(self, person):
        """The login name of a held teacher's login, else None."""
        return self.held_ids.get(person.pk) if isinstance(person, User) and person.pk else None

    def held_rows(self):
        """[(login, why, [(section, row)])] of the changes that wait for a person's confirmation."""
        found = []
        for login, why in sorted(self.held.items()):
            rows = [(step.section, row) for step in self.steps if step.login == login for row in step.rows]
            if rows:
                found.append((login, why, rows))
        return found

    def unconfirmed(self):
        """The held logins with changes that were not run: nobody confirmed them."""
        return [login for login, _, _ in self.held_rows() if login not in self.confirmed]

    def count(self, kind, section=None):
        return sum(len(step.rows) for step in self.steps if step.kind == kind and section in (None, step.section))

    def rows(self, kind):
        return [(step.section, row) for step in self.steps if step.kind == kind for row in step.rows]

    @property
    def digest(self):
        """What the preview showed, unchanged rows included: an apply that would do otherwise is refused."""
        shown = [(step.section, step.kind, step.rows, step.login) for step in self.steps]
        return hashlib.sha256(json.dumps([shown, sorted(self.held.items())]).encode()).hexdigest()

    def run(self, confirm_removals, confirmed_logins=()):
        self.confirmed = sorted(set(confirmed_logins) & set(self.held))
        for step in self.steps:
            if not step.run or (step.kind == REMOVE and not confirm_removals):
                continue
            if step.login is None or step.login in self.confirmed:
                step.run()
        self.removals_applied = confirm_removals


def changes_of(instance, wanted):
    return {name: value for name, value in wanted.items() if getattr(instance, name) != value}


def saving(instance, changes, follow_ups=()):
    def run():
        for name, value in changes.items():
            setattr(instance, name, value)
        instance.save()
        for _, follow_up in follow_ups:
            follow_up()

    return run


def plan_import(roster):
    """What applying the roster would change, as steps; nothing is written."""
    plan = Plan()
    courses = plan_courses(roster, plan)
    teachers = plan_teachers(roster, plan)
    students = plan_students(roster, plan)
    plan_other_users(roster, plan)
    plan_enrolments(roster, courses, teachers, students, plan)
    plan_student_removals(roster, plan)
    plan_teacher_removals(roster, plan)
    return plan


def plan_record(plan, section, instance, wanted, label, follow_ups=(), login=None):
    """A create, update or unchanged step for one course, teacher or student. follow_ups:
    [(what it does, function)] run after the record is saved; login: see Step.login."""
    if instance.pk is None:
        plan.add(section, CREATE, [label], saving(instance, wanted, follow_ups))
        return
    changes = changes_of(instance, wanted)
    if changes or follow_ups:
        said = [f"{name} {getattr(instance, name)!r} -> {value!r}" for name, value in changes.items()]
        said += [what for what, _ in follow_ups]
        plan.add(section, UPDATE, [f"{label}: {', '.join(said)}"], saving(instance, changes, follow_ups), login)
    else:
        plan.add(section, UNCHANGED, [label])


def record_to_import(plan, row, linked, holder, model, wanted, clash):
    """The course or student a row imports into: the one linked to its sourcedId, else one made
    by hand that has its code or number (it is linked now), else a new one. None, and an error,
    when the code or number is another linked one's, or a hand-made one's that the linked record
    would take."""
    if holder and holder != linked and (linked is not None or holder.sourced_id is not None):
        plan.errors.append(row.error(f"{clash} here."))
        return None
    if linked is None:
        wanted["sourced_id"] = row["sourcedId"]
        return holder or model()
    return linked


def plan_courses(roster, plan):
    """{class sourcedId: Course (saved or to be created)} for the bundle's active classes."""
    active = roster.active("classes")
    linked = {course.sourced_id: course for course in Course.objects.filter(sourced_id__in=roster.classes)}
    codes = [row["classCode"] for row in active.values()]
    by_code = {course.code: course for course in Course.objects.filter(code__in=codes)}
    courses = {}
    for sourced_id, row in roster.classes.items():
        course = linked.get(sourced_id)
        if row.is_deleted:
            what = f"{course}: marked tobedeleted; the course and its attendance stay" if course else None
            plan.add(COURSES, IGNORED, [what or f"{row['classCode']}: marked tobedeleted; not created"])
            continue
        wanted = {"code": row["classCode"], "name": course_name(row)}
        holder = by_code.get(wanted["code"])
        course = record_to_import(plan, row, course, holder, Course, wanted, f"code {wanted['code']} is {holder}'s")
        if course is None:
            continue
        courses[sourced_id] = course
        plan_record(plan, COURSES, course, wanted, f"{wanted['code']} {wanted['name']}")
    gone = Course.objects.filter(sourced_id__isnull=False).exclude(sourced_id__in=roster.classes)
    plan.add(
        COURSES, IGNORED, [f"{course}: no longer in the bundle; the course and its attendance stay" for course in gone]
    )
    return courses


def plan_teachers(roster, plan):
    """{user sourcedId: User (saved or to be created)} for the bundle's active teachers. An
    existing login the import did not make (or an admin's) is held (why_held)."""
    active = roster.active("users", TEACHER)
    links = RosterTeacher.objects.filter(sourced_id__in=active).select_related("user")
    linked = {link.sourced_id: link.user for link in links}
    managed = {link.user_id for link in links if link.import_manages}
    by_username = {
        user.username: user
        for user in User.objects.filter(username__in=[teacher_username(r) for r in active.values()]).select_related(
            "roster_teacher", "student"
        )
    }
    group = Group.objects.get(name=TEACHER_GROUP)
    in_group = set(group.user_set.values_list("pk", flat=True))
    teachers = {}
    for sourced_id, row in active.items():
        user = linked.get(sourced_id)
        wanted = {
            "username": teacher_username(row),
            "first_name": row["givenName"],
            "last_name": row["familyName"],
            "email": row["email"],
        }
        holder = by_username.get(wanted["username"])
        if holder and holder != user and (user or hasattr(holder, "roster_teacher") or hasattr(holder, "student")):
            whose = "a student's login" if hasattr(holder, "student") else "another person's login"
            plan.errors.append(row.error(f"username {wanted['username']} is {whose} here."))
            continue
        if user is None and holder is None:
            # They set a password themselves (password reset, school sign-in); nobody else knows one.
            wanted["password"] = make_password(None)
        user = user or holder or User()
        teachers[sourced_id] = user
        why = why_held(user, user.pk in managed)
        if why:
            plan.hold(user, why)
        follow_ups = []
        if user.pk not in in_group:
            follow_ups.append(("into the Teacher group", lambda user=user: user.groups.add(group)))
        if sourced_id not in linked:
            made_here = user.pk is None

            def link(user=user, sid=sourced_id, made_here=made_here):
                RosterTeacher.objects.create(sourced_id=sid, user=user, import_manages=made_here)

            follow_ups.append((f"linked to {sourced_id}", link))
        label = f"{wanted['username']} ({full_name(row)})"
        plan_record(plan, TEACHERS, user, wanted, label, follow_ups, plan.login_held(user))
    return teachers


def why_held(user, import_manages):
    """Why the import may change this existing login only when a person confirms it by name, or
    None. An admin's login is never changed by a file without that; nor is one the import did
    not make, until a person has confirmed it once (RosterTeacher.import_manages)."""
    if user.pk is None:
        return None
    if user.is_superuser or user.is_staff or user.groups.filter(name=ADMIN_GROUP).exists():
        return ADMINS_LOGIN
    if not import_manages:
        return NOT_MADE_HERE
    return None


def plan_students(roster, plan):
    """{user sourcedId: Student (saved or to be created)} for the bundle's active students."""
    active = roster.active("users", STUDENT)
    linked = {student.sourced_id: student for student in Student.objects.filter(sourced_id__in=active)}
    by_number = {
        student.student_number: student
        for student in Student.objects.filter(student_number__in=[student_number(r) for r in active.values()])
    }
    students = {}
    for sourced_id, row in active.items():
        student = linked.get(sourced_id)
        wanted = {
            "student_number": student_number(row),
            "full_name": full_name(row),
            "email": row["email"],
            "is_active": True,
        }
        holder = by_number.get(wanted["student_number"])
        clash = f"identifier {wanted['student_number']} is {holder}'s student number"
        student = record_to_import(plan, row, student, holder, Student, wanted, clash)
        if student is None:
            continue
        students[sourced_id] = student
        plan_record(plan, STUDENTS, student, wanted, student_label(row))
    return students


def plan_other_users(roster, plan):
    for sourced_id, row in roster.users.items():
        if row["role"].lower() not in (STUDENT, TEACHER):
            plan.add(OTHER_USERS, IGNORED, [f"{sourced_id}: role {row['role'] or 'empty'}, not imported"])


def plan_enrolments(roster, courses, teachers, students, plan):
    """Each active class's students and teachers become exactly the bundle's enrolments."""
    people = {STUDENT: students, TEACHER: teachers}
    wanted = defaultdict(list)  # (class sourcedId, role): [(person, label)]
    for row in roster.active("enrollments").values():
        role, class_id = row["role"].lower(), row["classSourcedId"]
        person = people.get(role, {}).get(row["userSourcedId"])
        if person is not None and class_id in courses and all(person is not p for p, _ in wanted[class_id, role]):
            user_row = roster.users[row["userSourcedId"]]
            label = student_label(user_row) if role == STUDENT else teacher_username(user_row)
            wanted[class_id, role].append((person, label))
    for class_id, course in courses.items():
        code = roster.classes[class_id]["classCode"]
        for role, members in ((STUDENT, "students"), (TEACHER, "teachers")):
            current = {person.pk: person for person in getattr(course, members).all()} if course.pk else {}
            entries = wanted[class_id, role]
            kept = {person.pk for person, _ in entries if person.pk in current}
            added = [(person, label) for person, label in entries if person.pk not in current]
            removed = [(person, member_label(person)) for pk, person in current.items() if pk not in kept]
            # A held login's enrolments are steps of their own, run only when it is confirmed.
            for login, people in by_held_login(plan, added).items():
                add = lambda c=course, m=members, a=[p for p, _ in people]: getattr(c, m).add(*a)  # noqa: E731
                plan.add(ENROLMENTS, CREATE, enrolment_rows(code, role, [label for _, label in people]), add, login)
            for login, people in by_held_login(plan, removed).items():
                remove = lambda c=course, m=members, r=[p for p, _ in people]: getattr(c, m).remove(*r)  # noqa: E731
                plan.add(ENROLMENTS, REMOVE, enrolment_rows(code, role, [label for _, label in people]), remove, login)
            kept_labels = [label for person, label in entries if person.pk in current]
            plan.add(ENROLMENTS, UNCHANGED, enrolment_rows(code, role, kept_labels))


def by_held_login(plan, people):
    """{held login name or None: [(person, label)]}, None first, in the people's order."""
    grouped = {None: []}
    for person, label in people:
        grouped.setdefault(plan.login_held(person), []).append((person, label))
    return grouped


def enrolment_rows(code, role, labels):
    return [f"{code}: {role} {label}" for label in labels]


def plan_student_removals(roster, plan):
    """A student of an earlier import who left the bundle (or is marked tobedeleted) is deactivated
    and taken off the imported courses, never deleted: their attendance and photos stay until an
    admin deletes them."""
    staying = roster.active("users", STUDENT)
    for student in Student.objects.filter(sourced_id__isnull=False).exclude(sourced_id__in=staying):
        imported = list(student.courses.filter(sourced_id__isnull=False))
        if student.is_active or imported:
            off = f" and taken off {', '.join(course.code for course in imported)}" if imported else ""

            def deactivate(student=student, imported=imported):
                student.is_active = False
                student.save(update_fields=["is_active"])
                student.courses.remove(*imported)

            plan.add(STUDENTS, REMOVE, [f"{student}: deactivated{off}"], deactivate)


def plan_teacher_removals(roster, plan):
    """A teacher of an earlier import who left the bundle loses the Teacher group and the imported
    courses; the login stays (it may be an admin's too, and it is named in the audit trail)."""
    staying = roster.active("users", TEACHER)
    group = Group.objects.get(name=TEACHER_GROUP)
    for link in RosterTeacher.objects.exclude(sourced_id__in=staying).select_related("user"):
        user = link.user
        imported = list(user.courses_taught.filter(sourced_id__isnull=False))
        if imported or user.groups.filter(pk=group.pk).exists():
            off = f" and off {', '.join(course.code for course in imported)}" if imported else ""

            def withdraw(user=user, imported=imported):
                user.groups.remove(group)
                user.courses_taught.remove(*imported)

            why = why_held(user, link.import_manages)
            if why:
                plan.hold(user, why)
            rows = [f"{user.username}: out of the Teacher group{off}"]
            plan.add(TEACHERS, REMOVE, rows, withdraw, plan.login_held(user))


def apply_roster(roster, confirm_removals=False, previewed_digest=None, confirmed_logins=(), confirmed_by=None):
    """Plan and apply in one transaction; with errors nothing is written. previewed_digest: the
    digest of the plan a person approved; when the plan differs now, PreviewOutdated.
    confirmed_logins: the held logins (Plan.held) a person confirmed by name, confirmed_by that
    person (None: on the command line); the steps of the others are not run."""
    try:
        with transaction.atomic():
            plan = plan_import(roster)
            if plan.errors:
                return plan
            if previewed_digest is not None and plan.digest != previewed_digest:
                raise PreviewOutdated("The roster changed since the preview: check the new preview and apply again.")
            plan.run(confirm_removals, confirmed_logins)
            record_confirmations(plan, confirmed_by)
    except IntegrityError as error:
        refused = f"the database refused a change ({error}); nothing was written."
        plan.errors.append(RosterError("bundle", None, refused))
    return plan


def record_confirmations(plan, confirmed_by):
    """A login a person confirmed by name is, from now on, one the import may keep up to date,
    like one it made, recorded with who confirmed it and when; an admin's never is."""
    confirmed = [pk for pk, login in plan.held_ids.items() if login in plan.confirmed]
    not_admins = [pk for pk in confirmed if plan.held[plan.held_ids[pk]] != ADMINS_LOGIN]
    RosterTeacher.objects.filter(user__in=not_admins).update(
        import_manages=True, confirmed_by=confirmed_by, confirmed_at=timezone.now()
    )


# What the preview says ---------------------------------------------------------------------------


def summary(plan):
    """[(section, {kind: count})] in the order the preview shows them."""
    return [(section, {kind: plan.count(kind, section) for kind in KINDS}) for section in SECTIONS]


def notes(plan):
    found = []
    if plan.count(CREATE, STUDENTS):
        found.append(CONSENT_NOTE)
    if plan.count(CREATE, TEACHERS):
        found.append(TEACHER_LOGIN_NOTE)
    return found


def preview_lines(plan, verbose=False):
    """The preview as text lines: counts per section, then the rows that change (and with verbose,
    the rows left alone)."""
    removed = "removed" if plan.removals_applied else REMOVE
    lines = []
    for section, counts in summary(plan):
        lines.append(f"{section}: " + ", ".join(f"{counts[k]} {removed if k == REMOVE else k}" for k in KINDS))
    shown = KINDS if verbose else [CREATE, UPDATE, REMOVE, IGNORED]
    for kind in shown:
        for section, row in plan.rows(kind):
            lines.append(f"  {removed if kind == REMOVE else kind} {section}: {row}")
    return [*held_lines(plan), *lines, totals(plan), *notes(plan)]


HELD_NOTE = (
    "Existing logins this bundle would change that the import did not make, or an admin's: nothing "
    "is changed on them unless each is confirmed by name"
)


def held_lines(plan):
    """The held logins' changes, first and marked: a bundle that names an admin's login must not
    pass as one line among hundreds."""
    held = plan.held_rows()
    if not held:
        return []
    lines = [f"!! {HELD_NOTE} (--confirm-login NAME):"]
    for login, why, rows in held:
        done = " (confirmed, applied)" if login in plan.confirmed else ""
        lines.append(f"!!   {login}: {why}{done}")
        lines += [f"!!     {section}: {row}" for section, row in rows]
    return lines


def totals(plan):
    removed = "removed" if plan.removals_applied else REMOVE
    return (
        f"Total: {plan.count(CREATE)} created, {plan.count(UPDATE)} updated, {plan.count(UNCHANGED)} unchanged, "
        f"{plan.count(REMOVE)} {removed}."
    )
