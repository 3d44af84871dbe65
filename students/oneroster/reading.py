"""Reading a OneRoster 1.1 bundle: its files, from a zip or a folder, refusing what could do
harm (a member outside the bundle, a zip that inflates past ONEROSTER_MAX_BYTES, a symbolic
link); then each CSV file's rows (UTF-8, a header row), by sourcedId, and what a row says of a
person or class. No maintained OneRoster library exists on PyPI; the csv module reads them."""

import csv
import datetime
import io
import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.conf import settings

# The columns this import needs; a file may have more (OneRoster 1.1 lists them all), and it reads
# these optional ones when present: enrollments.csv's beginDate and endDate (enrolment_dates).
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


class BundleRefused(Exception):
    """The bundle cannot be read at all: not a zip, a member outside it, too large, a link."""


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


def full_name(row):
    return " ".join(name for name in (row["givenName"], row["familyName"]) if name)


def student_number(row):
    return row["identifier"] or row["sourcedId"]


def teacher_username(row):
    return row["username"] or row["email"] or row["sourcedId"]


def course_name(row):
    return row["title"] or row["classCode"]


def enrolment_dates(row):
    """(first day, last day) of an enrolment, each None when the bundle leaves it open; raises
    ValueError for a date that is not YYYY-MM-DD (OneRoster 1.1's format)."""
    return tuple(
        datetime.date.fromisoformat(row[column]) if row[column] else None for column in ("beginDate", "endDate")
    )
