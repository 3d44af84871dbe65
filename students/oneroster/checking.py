"""Checking a roster before anything is planned: every file the import needs, in the version it
reads, every reference to a known row, and every value one the database can hold (lengths,
one-line names, e-mail addresses, unique codes, numbers and user names). An error names the file
and line; a roster with any is not planned at all."""

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from ..models import Course, Student
from ..names import has_control_characters
from .reading import (
    BUNDLE_FILES,
    COLUMNS,
    REQUIRED_FILES,
    STUDENT,
    TEACHER,
    Roster,
    RosterError,
    by_sourced_id,
    course_name,
    enrolment_dates,
    full_name,
    parse_table,
    student_number,
    teacher_username,
)


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
        check_dates(row, errors)
        user = roster.users.get(row["userSourcedId"])
        role = row["role"].lower()
        if user and role in (STUDENT, TEACHER) and user["role"].lower() != role:
            said = f"user {row['userSourcedId']} is a {user['role']} in users.csv, enrolled as {role}."
            errors.append(row.error(said))


def check_dates(row, errors):
    try:
        begin, end = enrolment_dates(row)
    except ValueError:
        errors.append(
            row.error(f"beginDate {row['beginDate']!r} or endDate {row['endDate']!r} is not a date (YYYY-MM-DD).")
        )
        return
    if begin and end and end < begin:
        errors.append(row.error(f"endDate {end} is before beginDate {begin}."))
