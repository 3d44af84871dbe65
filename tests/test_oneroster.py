"""Rosters from the school's system: OneRoster 1.1 CSV bundles written here, as a folder and as a
zip, imported with `import_oneroster` and through the admin's upload page."""

import base64
import io
import os
import re
from datetime import date

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from students.models import Course, RosterTeacher, Student
from students.oneroster.checking import read_roster
from students.oneroster.planning import plan_import
from students.oneroster.reading import zip_of as zip_bytes
from tests.factories import make_course, make_student, make_user

pytestmark = pytest.mark.django_db

STAMP = "2026-09-01T08:00:00Z"
MANIFEST = [
    ["propertyName", "value"],
    ["manifest.version", "1.0"],
    ["oneroster.version", "1.1"],
    ["file.academicSessions", "absent"],
    ["file.classes", "bulk"],
    ["file.courses", "absent"],
    ["file.enrollments", "bulk"],
    ["file.orgs", "bulk"],
    ["file.users", "bulk"],
    ["source.systemName", "Test SIS"],
]
ORGS = [
    ["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"],
    ["org1", "active", STAMP, "Hillside School", "school", "HS", ""],
]
USERS_HEADER = [
    "sourcedId",
    "status",
    "dateLastModified",
    "enabledUser",
    "orgSourcedIds",
    "role",
    "username",
    "userIds",
    "givenName",
    "familyName",
    "middleName",
    "identifier",
    "email",
    "sms",
    "phone",
    "agentSourcedIds",
    "grades",
    "password",
]


def user(sourced_id, role, username, given, family, identifier, email):
    return [
        sourced_id,
        "active",
        STAMP,
        "true",
        "org1",
        role,
        username,
        "",
        given,
        family,
        "",
        identifier,
        email,
        "",
        "",
        "",
        "",
        "",
    ]


USERS = [
    USERS_HEADER,
    user("t1", "teacher", "jlee", "Jordan", "Lee", "T100", "jordan.lee@hillside.example"),
    user("t2", "teacher", "", "Kim", "Kahn", "T200", "kim.kahn@hillside.example"),
    user("s1", "student", "asmith", "Avery", "Smith", "S2001", "avery@students.example"),
    user("s2", "student", "bjones", "Blake", "Jones", "S2002", ""),
    user("s3", "student", "", "Casey", "Chen", "S2003", ""),
    user("s4", "student", "", "Devon", "Diaz", "S2004", ""),
    user("s5", "student", "", "Emery", "Ekwueme", "", ""),
    user("g1", "guardian", "", "Gale", "Smith", "", "gale@home.example"),
]
CLASSES = [
    [
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "grades",
        "courseSourcedId",
        "classCode",
        "classType",
        "location",
        "schoolSourcedId",
        "termSourcedIds",
        "subjects",
        "subjectCodes",
        "periods",
    ],
    ["c1", "active", STAMP, "Mathematics 7", "07", "k1", "MATH7", "scheduled", "R12", "org1", "", "", "", ""],
    ["c2", "active", STAMP, "Art 7", "07", "k2", "ART7", "scheduled", "R3", "org1", "", "", "", ""],
]
ENROLLMENTS_HEADER = [
    "sourcedId",
    "status",
    "dateLastModified",
    "classSourcedId",
    "schoolSourcedId",
    "userSourcedId",
    "role",
    "primary",
    "beginDate",
    "endDate",
]


def enrolment(sourced_id, class_id, user_id, role="student"):
    return [
        sourced_id,
        "active",
        STAMP,
        class_id,
        "org1",
        user_id,
        role,
        "true" if role == "teacher" else "false",
        "",
        "",
    ]


ENROLLMENTS = [
    ENROLLMENTS_HEADER,
    enrolment("e1", "c1", "t1", "teacher"),
    enrolment("e2", "c1", "s1"),
    enrolment("e3", "c1", "s2"),
    enrolment("e4", "c1", "s3"),
    enrolment("e5", "c2", "t2", "teacher"),
    enrolment("e6", "c2", "s3"),
    enrolment("e7", "c2", "s4"),
    enrolment("e8", "c2", "s5"),
]


def csv_text(rows):
    out = io.StringIO()
    import csv

    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode()


def bundle_files(**changes):
    """{file name: bytes} of the test school's bundle; a keyword replaces a file's rows (users=...)."""
    tables = {"manifest": MANIFEST, "orgs": ORGS, "users": USERS, "classes": CLASSES, "enrollments": ENROLLMENTS}
    tables.update(changes)
    return {
        f"{name}.csv": content if isinstance(content, bytes) else csv_text(content) for name, content in tables.items()
    }


def write_folder(path, files):
    path.mkdir()
    for name, content in files.items():
        (path / name).write_bytes(content)
    return path


def write_zip(path, files):
    path.write_bytes(zip_bytes(files))
    return path


def run_import(bundle, capsys, **options):
    call_command("import_oneroster", str(bundle), **options)
    return capsys.readouterr().out


def counts(out, section):
    """{kind: n} of one section's line of the preview."""
    line = re.search(rf"^{section}: (.*)$", out, re.M).group(1)
    return {kind: int(n) for n, kind in re.findall(r"(\d+) ([a-z ]+?)(?:,|$)", line)}


def test_preview_of_a_folder_counts_everything_and_writes_nothing(tmp_path, capsys):
    out = run_import(write_folder(tmp_path / "bundle", bundle_files()), capsys)

    assert counts(out, "courses")["created"] == 2
    assert counts(out, "teachers")["created"] == 2
    assert counts(out, "students")["created"] == 5
    assert counts(out, "enrolments")["created"] == 8
    assert counts(out, "other users")["left alone"] == 1
    assert "Total: 17 created, 0 updated, 0 unchanged, 0 would be removed." in out
    assert "created students: Emery Ekwueme (s5)" in out
    assert "Photos of these students are not processed until consent is recorded" in out
    assert "Nothing was written" in out
    assert not Student.objects.exists() and not Course.objects.exists() and not RosterTeacher.objects.exists()


def test_apply_of_a_zip_creates_courses_teachers_students_and_enrolments(tmp_path, capsys):
    out = run_import(write_zip(tmp_path / "bundle.zip", bundle_files()), capsys, apply=True)
    assert "Applied in one transaction." in out

    math, art = Course.objects.get(sourced_id="c1"), Course.objects.get(sourced_id="c2")
    assert (math.code, math.name, art.code, art.name) == ("MATH7", "Mathematics 7", "ART7", "Art 7")
    jlee, kahn = User.objects.get(roster_teacher__sourced_id="t1"), User.objects.get(roster_teacher__sourced_id="t2")
    assert (jlee.username, jlee.get_full_name(), jlee.email) == ("jlee", "Jordan Lee", "jordan.lee@hillside.example")
    assert kahn.username == "kim.kahn@hillside.example"  # no username: the e-mail is the login name
    for teacher in (jlee, kahn):
        assert teacher.groups.filter(name="Teacher").exists()
        assert not teacher.has_usable_password()
    assert list(math.teachers.all()) == [jlee] and list(art.teachers.all()) == [kahn]

    assert Student.objects.count() == 5
    avery = Student.objects.get(sourced_id="s1")
    assert (avery.student_number, avery.full_name, avery.email) == ("S2001", "Avery Smith", "avery@students.example")
    assert Student.objects.get(sourced_id="s5").student_number == "s5"  # no identifier: the sourcedId
    assert not Student.objects.filter(consent_recorded_at__isnull=False).exists()
    assert not Student.objects.filter(user__isnull=False).exists()
    assert sorted(math.students.values_list("student_number", flat=True)) == ["S2001", "S2002", "S2003"]
    assert sorted(art.students.values_list("student_number", flat=True)) == ["S2003", "S2004", "s5"]
    assert not User.objects.filter(first_name="Gale").exists()


def test_a_second_run_changes_nothing(tmp_path, capsys):
    bundle = write_zip(tmp_path / "bundle.zip", bundle_files())
    run_import(bundle, capsys, apply=True)
    before = (Student.objects.count(), Course.objects.count(), User.objects.count())

    out = run_import(bundle, capsys, apply=True)

    assert "Total: 0 created, 0 updated, 17 unchanged, 0 would be removed." in out
    assert (Student.objects.count(), Course.objects.count(), User.objects.count()) == before


def test_a_changed_name_updates_that_one_student(tmp_path, capsys):
    run_import(write_folder(tmp_path / "first", bundle_files()), capsys, apply=True)
    renamed = [
        row if row[0] != "s2" else user("s2", "student", "bjones", "Blake", "Jones-Ode", "S2002", "") for row in USERS
    ]
    bundle = write_folder(tmp_path / "second", bundle_files(users=renamed))

    out = run_import(bundle, capsys)
    assert counts(out, "students") == {
        "created": 0,
        "updated": 1,
        "unchanged": 4,
        "would be removed": 0,
        "left alone": 0,
    }
    assert "updated students: Blake Jones-Ode (S2002): full_name 'Blake Jones' -> 'Blake Jones-Ode'" in out

    run_import(bundle, capsys, apply=True)
    assert Student.objects.get(sourced_id="s2").full_name == "Blake Jones-Ode"
    assert Student.objects.get(sourced_id="s1").full_name == "Avery Smith"


def test_a_removed_enrolment_is_listed_and_applied_only_with_confirmation(tmp_path, capsys):
    run_import(write_folder(tmp_path / "first", bundle_files()), capsys, apply=True)
    without_avery = [row for row in ENROLLMENTS if row[0] != "e2"]
    bundle = write_folder(tmp_path / "second", bundle_files(enrollments=without_avery))
    math = Course.objects.get(code="MATH7")

    out = run_import(bundle, capsys, apply=True)
    assert "would be removed enrolments: MATH7: student Avery Smith (S2001)" in out
    assert "1 removal(s) not applied" in out
    assert math.students.filter(sourced_id="s1").exists()

    out = run_import(bundle, capsys, apply=True, confirm_removals=True)
    assert "removed enrolments: MATH7: student Avery Smith (S2001)" in out
    assert not math.students.filter(sourced_id="s1").exists()
    assert Student.objects.get(sourced_id="s1").is_active
    assert "Total: 0 created, 0 updated, 16 unchanged, 0 would be removed." in run_import(bundle, capsys)


def test_a_student_marked_tobedeleted_is_deactivated_and_taken_off_courses_never_deleted(tmp_path, capsys):
    run_import(write_folder(tmp_path / "first", bundle_files()), capsys, apply=True)
    leaving = [[*row[:1], "tobedeleted", *row[2:]] if row[0] == "s3" else row for row in USERS]
    bundle = write_folder(tmp_path / "second", bundle_files(users=leaving))

    out = run_import(bundle, capsys, apply=True)
    assert "would be removed students: Casey Chen (S2003): deactivated and taken off ART7, MATH7" in out
    assert Student.objects.get(sourced_id="s3").is_active

    run_import(bundle, capsys, apply=True, confirm_removals=True)
    casey = Student.objects.get(sourced_id="s3")
    assert not casey.is_active and not casey.courses.exists()


def test_a_teacher_gone_from_the_bundle_leaves_the_group_and_courses_only_when_confirmed(tmp_path, capsys):
    run_import(write_folder(tmp_path / "first", bundle_files()), capsys, apply=True)
    bundle = write_folder(
        tmp_path / "second",
        bundle_files(
            users=[row for row in USERS if row[0] != "t2"], enrollments=[r for r in ENROLLMENTS if r[0] != "e5"]
        ),
    )
    kahn = User.objects.get(roster_teacher__sourced_id="t2")

    out = run_import(bundle, capsys, apply=True)
    assert "would be removed teachers: kim.kahn@hillside.example: out of the Teacher group and off ART7" in out
    assert kahn.groups.filter(name="Teacher").exists()

    run_import(bundle, capsys, apply=True, confirm_removals=True)
    kahn.refresh_from_db()
    assert not kahn.groups.filter(name="Teacher").exists() and not kahn.courses_taught.exists()
    assert User.objects.filter(pk=kahn.pk).exists()


def test_an_existing_student_and_course_are_linked_by_number_and_code(tmp_path, capsys):
    ada = make_student("S2001", "Avery Smith")
    math = make_course("MATH7", students=[make_student("X9", "Hand Made")])

    out = run_import(write_folder(tmp_path / "bundle", bundle_files()), capsys, apply=True)

    assert "updated students: Avery Smith (S2001): email '' -> 'avery@students.example', sourced_id None -> 's1'" in out
    assert "would be removed enrolments: MATH7: student Hand Made (X9)" in out
    ada.refresh_from_db()
    math.refresh_from_db()
    assert (ada.sourced_id, math.sourced_id, math.name) == ("s1", "c1", "Mathematics 7")
    assert Student.objects.count() == 6


def test_a_teacher_username_that_is_a_students_login_is_an_error(tmp_path, capsys):
    make_student("S1", "Jay Lee", user=make_user("jlee", role="Student"))
    with pytest.raises(CommandError, match="nothing was written"):
        run_import(write_folder(tmp_path / "bundle", bundle_files()), capsys, apply=True)
    assert "users.csv line 2: username jlee is a student's login here." in capsys.readouterr().err
    assert not Course.objects.exists()


ERROR_USERS = [[column for column in USERS_HEADER if column != "familyName"]]
ERROR_CLASSES = [
    *CLASSES,
    ["c1", "active", STAMP, "Music 7", "07", "k3", "MUS7", "scheduled", "", "org1", "", "", "", ""],
]
ERROR_ENROLLMENTS = [
    ENROLLMENTS_HEADER,
    enrolment("e1", "c1", "t1", "teacher"),
    enrolment("e2", "c1", "s1"),
    enrolment("e3", "c9", "s2"),
]


def test_an_error_bundle_lists_each_error_by_file_and_line_and_writes_nothing(tmp_path, capsys):
    files = bundle_files(users=ERROR_USERS, classes=ERROR_CLASSES, enrollments=ERROR_ENROLLMENTS)

    with pytest.raises(CommandError, match="3 error"):
        run_import(write_folder(tmp_path / "bundle", files), capsys, apply=True)

    assert capsys.readouterr().err.splitlines() == [
        "users.csv line 1: missing column(s): familyName.",
        "classes.csv line 4: duplicate sourcedId c1 (also on line 2).",
        "enrollments.csv line 4: unknown class c9 in classSourcedId.",
    ]
    assert not Course.objects.exists() and not Student.objects.exists() and not RosterTeacher.objects.exists()


def test_bad_bytes_short_rows_and_unknown_users_are_errors(tmp_path, capsys):
    orgs = ORGS[0:1]
    users = [*USERS, ["s9", "active", STAMP, "true", "org1", "student"]]
    enrollments = [*ENROLLMENTS, enrolment("e9", "c1", "nobody")]
    files = bundle_files(
        orgs=csv_text(orgs) + "org1,active,,H\xe9lice,school,,\r\n".encode("latin-1"),
        users=users,
        enrollments=enrollments,
    )

    with pytest.raises(CommandError):
        run_import(write_zip(tmp_path / "bundle.zip", files), capsys, apply=True)

    err = capsys.readouterr().err.splitlines()
    assert err == [
        "orgs.csv line 2: not UTF-8 (byte 0xe9); export it as UTF-8.",
        "users.csv line 10: 6 fields where the header has 18.",
        "enrollments.csv line 10: unknown user nobody in userSourcedId.",
    ]
    assert not Student.objects.exists()


@pytest.mark.parametrize("name", ["../evil.csv", "/etc/evil.csv", "sub/../../evil.csv"])
def test_a_zip_with_a_path_outside_it_is_refused(tmp_path, capsys, name):
    bundle = write_zip(tmp_path / "bundle.zip", {**bundle_files(), name: b"sourcedId\r\nx\r\n"})
    with pytest.raises(CommandError, match="points outside the bundle: refused"):
        run_import(bundle, capsys, apply=True)
    assert not Student.objects.exists()


def test_a_zip_that_unpacks_too_large_is_refused(tmp_path, capsys, settings):
    settings.ONEROSTER_MAX_BYTES = 1_000_000
    bomb = csv_text(USERS) + b" " * 2_000_000  # deflates to a few kB
    bundle = write_zip(tmp_path / "bundle.zip", bundle_files(users=bomb))
    assert bundle.stat().st_size < 50_000

    with pytest.raises(CommandError, match=r"unpacks to more than 1 MB \(ONEROSTER_MAX_BYTES\): refused"):
        run_import(bundle, capsys, apply=True)
    assert not Student.objects.exists()


def test_a_folder_with_a_symbolic_link_is_refused(tmp_path, capsys):
    folder = write_folder(tmp_path / "bundle", {k: v for k, v in bundle_files().items() if k != "users.csv"})
    (tmp_path / "elsewhere.csv").write_bytes(csv_text(USERS))
    os.symlink(tmp_path / "elsewhere.csv", folder / "users.csv")
    with pytest.raises(CommandError, match="symbolic links are never followed"):
        run_import(folder, capsys)


# The admin's upload page ----------------------------------------------------------------------

IMPORT_URL = "admin:students_student_import_oneroster"


def upload(client, files, name="bundle.zip"):
    content = io.BytesIO(zip_bytes(files))
    content.name = name
    return client.post(reverse(IMPORT_URL), {"bundle": content})


def apply_form_of(response):
    html = response.content.decode()
    return {name: re.search(rf'name="{name}" value="([^"]*)"', html).group(1) for name in ("bundle", "digest")}


def test_the_student_and_course_lists_link_to_the_import_page(client, school):
    client.force_login(school.admin)
    for changelist in ("admin:students_student_changelist", "admin:students_course_changelist"):
        assert reverse(IMPORT_URL) in client.get(reverse(changelist)).content.decode()


def test_the_admin_page_previews_then_applies(client, school):
    client.force_login(school.admin)

    preview = upload(client, bundle_files())
    assert preview.status_code == 200
    page = preview.content.decode()
    assert "Photos of these students are not processed until consent is recorded" in page
    assert "Avery Smith (S2001)" in page and 'value="Apply"' in page
    assert not Student.objects.filter(sourced_id__isnull=False).exists()

    applied = client.post(reverse(IMPORT_URL), apply_form_of(preview))
    assert applied.status_code == 302
    assert Student.objects.filter(sourced_id__isnull=False).count() == 5
    assert Course.objects.get(sourced_id="c1").students.count() == 3
    assert User.objects.get(username="jlee").groups.filter(name="Teacher").exists()


def test_the_admin_page_lists_errors_and_applies_nothing(client, school):
    client.force_login(school.admin)
    response = upload(client, bundle_files(users=ERROR_USERS, classes=ERROR_CLASSES, enrollments=ERROR_ENROLLMENTS))
    page = response.content.decode()
    assert "enrollments.csv line 4: unknown class c9 in classSourcedId." in page
    assert 'value="Apply"' not in page


def test_the_admin_page_removes_only_when_the_box_is_ticked(client, school, tmp_path, capsys):
    run_import(write_folder(tmp_path / "first", bundle_files()), capsys, apply=True)
    client.force_login(school.admin)
    preview = upload(client, bundle_files(enrollments=[row for row in ENROLLMENTS if row[0] != "e2"]))
    assert "MATH7: student Avery Smith (S2001)" in preview.content.decode()
    math = Course.objects.get(code="MATH7")

    client.post(reverse(IMPORT_URL), apply_form_of(preview))
    assert math.students.filter(sourced_id="s1").exists()
    client.post(reverse(IMPORT_URL), {**apply_form_of(preview), "confirm_removals": "on"})
    assert not math.students.filter(sourced_id="s1").exists()


def test_an_apply_after_the_database_changed_shows_the_new_preview_and_writes_nothing(client, school):
    client.force_login(school.admin)
    preview = upload(client, bundle_files())
    make_course("ART7")

    response = client.post(reverse(IMPORT_URL), apply_form_of(preview))

    page = response.content.decode()
    assert "The roster changed since the preview" in page
    assert "courses: ART7 Art 7: name &#x27;Course ART7&#x27; -&gt; &#x27;Art 7&#x27;" in page
    assert not Student.objects.filter(sourced_id__isnull=False).exists()
    assert Course.objects.get(code="ART7").sourced_id is None


def test_the_plans_digest_is_over_what_it_would_write_not_over_the_preview_s_words(tmp_path):
    roster, errors = read_roster(bundle_files())
    assert errors == []
    plan = plan_import(roster)
    digest = plan.digest
    for step in plan.steps:  # the preview reworded: the same changes
        step.rows = [row.upper() for row in step.rows]
    assert plan.digest == digest
    [avery] = [
        step.change for step in plan.steps if getattr(step.change, "fields", {}).get("full_name") == "Avery Smith"
    ]
    avery.fields["full_name"] = "Avery Smythe"  # a change of what would be written
    assert plan.digest != digest
    assert plan_import(roster).digest == digest  # planned again from the same roster and database


def test_a_teacher_cannot_use_the_import_page(client, school):
    client.force_login(school.teacher)
    assert client.get(reverse(IMPORT_URL)).status_code in (302, 403)
    response = upload(client, bundle_files())
    assert response.status_code in (302, 403)
    files = bundle_files()
    forged = {"bundle": base64.b64encode(zip_bytes(files)).decode(), "digest": "x", "confirm_removals": "on"}
    assert client.post(reverse(IMPORT_URL), forged).status_code in (302, 403)
    assert not Student.objects.filter(sourced_id__isnull=False).exists()


# Names: one line, and no longer than their columns -------------------------------------------

ODD_NAME_USERS = [
    USERS_HEADER,
    user("t1", "teacher", "jlee", "J" * 160, "Lee", "T100", "jordan.lee@hillside.example"),
    user("t2", "teacher", "", "Kim", "Kahn", "T200", "kim.kahn@hillside.example"),
    user("s1", "student", "asmith", "Avery", "Smith\nX-Injected: yes", "S2001", "avery@students.example"),
    user("s2", "student", "bjones", "B" * 160, "J" * 90, "S2002", ""),
    *USERS[5:],
]


def test_a_name_with_a_line_break_or_too_long_for_its_column_is_an_error_by_file_and_line(tmp_path, capsys):
    files = bundle_files(users=ODD_NAME_USERS)

    with pytest.raises(CommandError, match="3 error"):
        run_import(write_folder(tmp_path / "bundle", files), capsys, apply=True)

    assert capsys.readouterr().err.splitlines() == [
        f"users.csv line 2: givenName '{'J' * 57}...' is 160 characters long; the most is 150.",
        "users.csv line 4: familyName 'Smith\\nX-Injected: yes' is not one line: it has a line break or control "
        "character.",
        # The quoted line break above makes the next row start one line further down.
        f"users.csv line 6: the name (givenName familyName) '{'B' * 57}...' is 251 characters long; the most is 200.",
    ]
    assert not Student.objects.exists() and not User.objects.filter(username="jlee").exists()


def test_the_admin_lists_the_name_errors_and_an_apply_of_that_bundle_writes_nothing(client, school):
    """On PostgreSQL an over-long value is refused by the database (DataError): the apply must
    never get that far."""
    client.force_login(school.admin)
    files = bundle_files(users=ODD_NAME_USERS)
    page = upload(client, files).content.decode()
    assert "users.csv line 2: givenName" in page and "is 160 characters long; the most is 150." in page
    assert "users.csv line 4: familyName" in page and 'value="Apply"' not in page

    forged = {"bundle": base64.b64encode(zip_bytes(files)).decode(), "digest": "x"}
    response = client.post(reverse(IMPORT_URL), forged)
    assert response.status_code == 200
    assert "users.csv line 6: the name (givenName familyName)" in response.content.decode()
    assert not Student.objects.filter(sourced_id__isnull=False).exists()


# Logins the import did not make ------------------------------------------------------------------


def users_naming(username, email="mallory@evil.example"):
    """The school's bundle with teacher t1's login name set to `username`."""
    return [
        user("t1", "teacher", username, "Mallory", "Evil", "T100", email) if row[0] == "t1" else row for row in USERS
    ]


def test_a_bundle_naming_an_admins_login_changes_nothing_on_it_without_a_confirmation_naming_it(tmp_path, capsys):
    boss = make_user("boss", is_staff=True, is_superuser=True, email="boss@school.example")
    bundle = write_folder(tmp_path / "bundle", bundle_files(users=users_naming("boss")))

    preview = run_import(bundle, capsys).splitlines()
    # First, marked, before the hundreds of rows of a real bundle.
    assert preview[:4] == [
        "!! Existing logins this bundle would change that the import did not make, or an admin's: nothing is "
        "changed on them unless each is confirmed by name (--confirm-login NAME):",
        "!!   boss: an admin's login",
        "!!     teachers: boss (Mallory Evil): first_name '' -> 'Mallory', last_name '' -> 'Evil', email "
        "'boss@school.example' -> 'mallory@evil.example', into the Teacher group, linked to t1",
        "!!     enrolments: MATH7: teacher boss",
    ]

    out = run_import(bundle, capsys, apply=True)
    assert "The changes to boss were not applied: run again with --confirm-login boss." in out
    boss.refresh_from_db()
    assert (boss.email, boss.first_name) == ("boss@school.example", "")
    assert not RosterTeacher.objects.filter(user=boss).exists()
    assert not boss.groups.exists() and not boss.courses_taught.exists()
    # Everything else was applied.
    assert Course.objects.get(code="MATH7").students.count() == 3
    assert User.objects.get(username="kim.kahn@hillside.example").courses_taught.get().code == "ART7"

    run_import(bundle, capsys, apply=True, confirm_logins=["boss"])
    boss.refresh_from_db()
    assert boss.email == "mallory@evil.example" and boss.roster_teacher.sourced_id == "t1"
    assert not boss.roster_teacher.import_manages  # an admin's login waits for a confirmation every time


def test_a_password_reset_to_the_bundles_address_reaches_no_admin(
    client, tmp_path, capsys, eager_celery, django_capture_on_commit_callbacks
):
    from django.core import mail

    make_user("boss", is_staff=True, is_superuser=True, email="boss@school.example")
    run_import(write_folder(tmp_path / "bundle", bundle_files(users=users_naming("boss"))), capsys, apply=True)

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/password-reset/", {"email": "mallory@evil.example"})
    assert mail.outbox == []


def test_a_login_made_by_hand_is_changed_only_once_confirmed_and_kept_up_to_date_after(tmp_path, capsys):
    jlee = make_user("jlee", role="Teacher", email="jl@old.example")
    bundle = write_folder(tmp_path / "first", bundle_files())

    out = run_import(bundle, capsys, apply=True)
    assert "!!   jlee: a login the import did not make" in out
    assert "The changes to jlee were not applied" in out
    jlee.refresh_from_db()
    assert jlee.email == "jl@old.example" and not jlee.courses_taught.exists()

    run_import(bundle, capsys, apply=True, confirm_logins=["jlee"])
    jlee.refresh_from_db()
    assert jlee.email == "jordan.lee@hillside.example" and jlee.courses_taught.get().code == "MATH7"
    link = jlee.roster_teacher
    assert link.import_manages and link.confirmed_at is not None and link.confirmed_by is None  # the command line

    renamed = [user("t1", "teacher", "jlee", "Jordan", "Lee-Park", "T100", "jordan.lee@hillside.example"), *USERS[2:]]
    out = run_import(
        write_folder(tmp_path / "second", bundle_files(users=[USERS_HEADER, *renamed])), capsys, apply=True
    )
    assert "!!" not in out
    jlee.refresh_from_db()
    assert jlee.last_name == "Lee-Park"


def test_the_admin_page_shows_a_held_login_first_and_changes_it_only_when_its_box_is_ticked(client, school):
    client.force_login(school.admin)
    files = bundle_files(users=users_naming(school.admin.username))

    preview = upload(client, files)
    page = preview.content.decode()
    assert page.index("<h2>Preview</h2>") < page.index('name="confirm_login" value="boss"') < page.index("<summary>")
    assert "Also change <strong>boss</strong> (an admin&#x27;s login)" in page

    applied = client.post(reverse(IMPORT_URL), apply_form_of(preview), follow=True)
    assert "The changes to boss were not applied" in applied.content.decode()
    school.admin.refresh_from_db()
    assert school.admin.email == "" and not RosterTeacher.objects.filter(user=school.admin).exists()

    client.post(reverse(IMPORT_URL), {**apply_form_of(upload(client, files)), "confirm_login": "boss"})
    school.admin.refresh_from_db()
    assert school.admin.email == "mallory@evil.example"
    assert Course.objects.get(code="MATH7").teachers.get() == school.admin


def dated(row, begin, end):
    return [*row[:8], begin, end]


def test_enrolment_dates_become_the_students_place_in_the_course_and_a_change_updates_it(tmp_path, capsys):
    enrollments = [dated(row, "2026-09-07", "") if row[0] == "e2" else row for row in ENROLLMENTS]
    enrollments = [dated(row, "2026-09-01", "2027-01-31") if row[0] == "e6" else row for row in enrollments]
    run_import(write_folder(tmp_path / "first", bundle_files(enrollments=enrollments)), capsys, apply=True)
    math, art = Course.objects.get(code="MATH7"), Course.objects.get(code="ART7")
    avery, casey = Student.objects.get(sourced_id="s1"), Student.objects.get(sourced_id="s3")
    assert (avery.memberships.get(course=math).starts_on, avery.memberships.get(course=math).ends_on) == (
        date(2026, 9, 7),
        None,
    )
    casey_art = casey.memberships.get(course=art)
    assert (casey_art.starts_on, casey_art.ends_on) == (date(2026, 9, 1), date(2027, 1, 31))
    assert casey.memberships.get(course=math).starts_on is None  # no dates in the bundle: open

    # Casey leaves art early: the next import says so and dates the place, nothing else changes.
    enrollments = [dated(row, "2026-09-01", "2026-11-30") if row[0] == "e6" else row for row in enrollments]
    bundle = write_folder(tmp_path / "second", bundle_files(enrollments=enrollments))
    out = run_import(bundle, capsys)
    assert "updated enrolments: ART7: student Casey Chen (S2003) from 2026-09-01 until 2026-11-30" in out
    assert counts(out, "enrolments")["updated"] == 1
    run_import(bundle, capsys, apply=True)
    casey_art.refresh_from_db()
    assert casey_art.ends_on == date(2026, 11, 30)
    assert "Total: 0 created, 0 updated, 17 unchanged, 0 would be removed." in run_import(bundle, capsys)


def test_an_enrolment_date_that_is_not_a_date_or_ends_before_it_begins_is_an_error(tmp_path, capsys):
    enrollments = [dated(row, "07/09/2026", "") if row[0] == "e2" else row for row in ENROLLMENTS]
    enrollments = [dated(row, "2026-09-07", "2026-09-01") if row[0] == "e3" else row for row in enrollments]
    _, errors = read_roster(bundle_files(enrollments=enrollments))
    assert [str(error) for error in errors] == [
        "enrollments.csv line 3: beginDate '07/09/2026' or endDate '' is not a date (YYYY-MM-DD).",
        "enrollments.csv line 4: endDate 2026-09-01 is before beginDate 2026-09-07.",
    ]
