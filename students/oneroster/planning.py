"""Planning an import: what applying a checked roster would change, as steps, without writing
anything; then, in one transaction, the same plan applied.

Each step says what it changes as data (Save, Enrol, Deactivate, Withdraw: the records and the
values), and its rows say it in words for the preview (preview.py). The digest the preview
carries to its Apply is over that data, never over the words: rewording the preview changes no
digest, and an apply whose changes differ from the ones shown is refused (PreviewOutdated).

Students and courses are keyed by sourcedId (Student.sourced_id, Course.sourced_id), teachers by
RosterTeacher.sourced_id, never by name. Removals (people or enrolments no longer in the bundle,
or marked tobedeleted) are planned like everything else but only run when confirmed, and remove
nobody: a student is deactivated and taken off the imported courses, a teacher taken out of the
Teacher group and off the imported courses. Deleting a student (and their face data) stays the
admin's own act.
"""

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth.models import Group, User
from django.db import IntegrityError, transaction
from django.utils import timezone

from access.roles import ADMIN_GROUP, TEACHER_GROUP

from ..models import Course, Membership, RosterTeacher, Student
from .reading import (
    STUDENT,
    TEACHER,
    RosterError,
    course_name,
    enrolment_dates,
    full_name,
    student_number,
    teacher_username,
)

COURSES, TEACHERS, STUDENTS, OTHER_USERS, ENROLMENTS = "courses", "teachers", "students", "other users", "enrolments"
SECTIONS = [COURSES, TEACHERS, STUDENTS, OTHER_USERS, ENROLMENTS]
CREATE, UPDATE, UNCHANGED, REMOVE, IGNORED = "created", "updated", "unchanged", "would be removed", "left alone"
KINDS = [CREATE, UPDATE, UNCHANGED, REMOVE, IGNORED]

# Why an existing login's changes wait for a person to confirm them by name (why_held).
ADMINS_LOGIN = "an admin's login"
NOT_MADE_HERE = "a login the import did not make"


class PreviewOutdated(Exception):
    """The roster or the database changed between the preview and the apply."""


def key(record, sourced_id=None):
    """What a change is keyed by in the digest: the record's id, or for one the plan creates, the
    school system's sourcedId it is created from."""
    return record.pk if record.pk is not None else f"new {sourced_id}"


# What a step changes, as data --------------------------------------------------------------------


@dataclass
class Save:
    """Create or update one course, teacher's login or student with these field values. A new
    login gets no usable password; a teacher joins the Teacher group, and is linked to the school
    system's sourcedId (link_to), as made by the import when the login is new."""

    record: object
    key: object
    fields: dict
    no_password: bool = False
    into_teacher_group: bool = False
    link_to: str | None = None

    def follow_ups(self):
        """What happens besides the fields, in words for the preview."""
        return ["into the Teacher group"] * self.into_teacher_group + [f"linked to {self.link_to}"] * bool(self.link_to)

    def facts(self):
        shown = sorted(self.fields.items())
        return [
            "save",
            self.record._meta.label,
            self.key,
            shown,
            self.no_password,
            self.into_teacher_group,
            self.link_to,
        ]

    def run(self):
        made_here = self.record.pk is None
        for name, value in self.fields.items():
            setattr(self.record, name, value)
        if self.no_password:
            self.record.set_unusable_password()
        self.record.save()
        if self.into_teacher_group:
            self.record.groups.add(Group.objects.get(name=TEACHER_GROUP))
        if self.link_to:
            RosterTeacher.objects.create(sourced_id=self.link_to, user=self.record, import_manages=made_here)


@dataclass
class Enrol:
    """Add people to a course's students or teachers (members), or take them off it. A student's
    place starts and ends on their enrolment's dates (dates: {key: (begin, end)}, None open)."""

    course: Course
    course_key: object
    members: str
    people: list  # [(person, key, label)]
    adding: bool
    dates: dict = field(default_factory=dict)

    def facts(self):
        return [
            "enrol" if self.adding else "unenrol",
            self.course_key,
            self.members,
            [[k, *map(str, self.dates.get(k, ()))] for _, k, _ in self.people],
        ]

    def run(self):
        members = getattr(self.course, self.members)
        if not self.adding:
            members.remove(*[person for person, _, _ in self.people])
        elif self.members == "teachers":
            members.add(*[person for person, _, _ in self.people])
        else:
            for person, person_key, _ in self.people:
                starts_on, ends_on = self.dates.get(person_key, (None, None))
                members.add(person, through_defaults={"starts_on": starts_on, "ends_on": ends_on})


@dataclass
class MembershipDates:
    """Change the dates of a student's place in a course to their enrolment's."""

    membership: Membership
    starts_on: object
    ends_on: object

    def facts(self):
        return ["dates", self.membership.pk, str(self.starts_on), str(self.ends_on)]

    def run(self):
        self.membership.starts_on, self.membership.ends_on = self.starts_on, self.ends_on
        self.membership.save(update_fields=["starts_on", "ends_on"])


@dataclass
class Deactivate:
    """A student who left the bundle: deactivated and taken off the imported courses."""

    student: Student
    courses: list

    def facts(self):
        return ["deactivate", self.student.pk, sorted(course.pk for course in self.courses)]

    def run(self):
        self.student.is_active = False
        self.student.save(update_fields=["is_active"])
        self.student.courses.remove(*self.courses)


@dataclass
class Withdraw:
    """A teacher who left the bundle: out of the Teacher group and off the imported courses."""

    user: User
    courses: list

    def facts(self):
        return ["withdraw", self.user.pk, sorted(course.pk for course in self.courses)]

    def run(self):
        self.user.groups.remove(Group.objects.get(name=TEACHER_GROUP))
        self.user.courses_taught.remove(*self.courses)


# The plan ----------------------------------------------------------------------------------------


@dataclass
class Step:
    section: str
    kind: str
    rows: list  # what the preview says of it
    change: Save | Enrol | MembershipDates | Deactivate | Withdraw | None = None  # None: nothing to write
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

    def add(self, section, kind, rows, change=None, login=None):
        if rows:
            self.steps.append(Step(section, kind, list(rows), change, login))

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
        """What applying the plan would write, and which logins wait for a person's confirmation:
        an apply whose plan has another digest would do otherwise than the preview showed."""
        changes = [(step.section, step.kind, step.change.facts(), step.login) for step in self.steps if step.change]
        return hashlib.sha256(json.dumps([changes, sorted(self.held.items())]).encode()).hexdigest()

    def run(self, confirm_removals, confirmed_logins=()):
        self.confirmed = sorted(set(confirmed_logins) & set(self.held))
        for step in self.steps:
            if not step.change or (step.kind == REMOVE and not confirm_removals):
                continue
            if step.login is None or step.login in self.confirmed:
                step.change.run()
        self.removals_applied = confirm_removals


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


def plan_record(plan, section, save, label, login=None):
    """A create, update or unchanged step for one course, teacher or student (save: Save, with
    every field the bundle gives it); login: see Step.login."""
    record = save.record
    if record.pk is None:
        plan.add(section, CREATE, [label], save)
        return
    save.fields = {name: value for name, value in save.fields.items() if getattr(record, name) != value}
    said = [f"{name} {getattr(record, name)!r} -> {value!r}" for name, value in save.fields.items()]
    said += save.follow_ups()
    if said:
        plan.add(section, UPDATE, [f"{label}: {', '.join(said)}"], save, login)
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
        plan_record(plan, COURSES, Save(course, key(course, sourced_id), wanted), f"{wanted['code']} {wanted['name']}")
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
    in_group = set(Group.objects.get(name=TEACHER_GROUP).user_set.values_list("pk", flat=True))
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
        user = user or holder or User()
        teachers[sourced_id] = user
        why = why_held(user, user.pk in managed)
        if why:
            plan.hold(user, why)
        save = Save(
            user,
            key(user, sourced_id),
            wanted,
            # A new login has no usable password: they set one themselves (password reset, school
            # sign-in); nobody else knows one.
            no_password=user.pk is None,
            into_teacher_group=user.pk not in in_group,
            link_to=None if sourced_id in linked else sourced_id,
        )
        label = f"{wanted['username']} ({full_name(row)})"
        plan_record(plan, TEACHERS, save, label, plan.login_held(user))
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
        plan_record(plan, STUDENTS, Save(student, key(student, sourced_id), wanted), student_label(row))
    return students


def plan_other_users(roster, plan):
    for sourced_id, row in roster.users.items():
        if row["role"].lower() not in (STUDENT, TEACHER):
            plan.add(OTHER_USERS, IGNORED, [f"{sourced_id}: role {row['role'] or 'empty'}, not imported"])


def plan_enrolments(roster, courses, teachers, students, plan):
    """Each active class's students and teachers become exactly the bundle's enrolments, and each
    student's place there has their enrolment's beginDate and endDate."""
    people = {STUDENT: students, TEACHER: teachers}
    wanted = defaultdict(list)  # (class sourcedId, role): [(person, key, label)]
    dates = {}  # (class sourcedId, person key): (begin, end)
    for row in roster.active("enrollments").values():
        role, class_id, user_id = row["role"].lower(), row["classSourcedId"], row["userSourcedId"]
        person = people.get(role, {}).get(user_id)
        if person is not None and class_id in courses and all(person is not p for p, _, _ in wanted[class_id, role]):
            user_row = roster.users[user_id]
            label = student_label(user_row) if role == STUDENT else teacher_username(user_row)
            wanted[class_id, role].append((person, key(person, user_id), label))
            dates[class_id, key(person, user_id)] = enrolment_dates(row)
    for class_id, course in courses.items():
        code = roster.classes[class_id]["classCode"]
        for role, members in ((STUDENT, "students"), (TEACHER, "teachers")):
            current = {person.pk: person for person in getattr(course, members).all()} if course.pk else {}
            entries = wanted[class_id, role]
            kept = {person.pk for person, _, _ in entries if person.pk in current}
            added = [entry for entry in entries if entry[0].pk not in current]
            removed = [(person, key(person), member_label(person)) for pk, person in current.items() if pk not in kept]
            # A held login's enrolments are steps of their own, run only when it is confirmed.
            for kind, changed in ((CREATE, added), (REMOVE, removed)):
                for login, group in by_held_login(plan, changed).items():
                    group_dates = {k: dates[class_id, k] for _, k, _ in group if (class_id, k) in dates}
                    enrol = Enrol(course, key(course, class_id), members, group, kind == CREATE, group_dates)
                    plan.add(
                        ENROLMENTS, kind, enrolment_rows(code, role, [label for _, _, label in group]), enrol, login
                    )
            kept_entries = [entry for entry in entries if entry[0].pk in current]
            if role == STUDENT and course.pk:
                kept_entries = plan_membership_dates(plan, course, code, kept_entries, dates, class_id)
            plan.add(ENROLMENTS, UNCHANGED, enrolment_rows(code, role, [label for _, _, label in kept_entries]))


def plan_membership_dates(plan, course, code, entries, dates, class_id):
    """A step for each kept student whose place's dates differ from their enrolment's; returns
    the entries whose dates are unchanged."""
    places = {membership.student_id: membership for membership in course.memberships.all()}
    unchanged = []
    for entry in entries:
        person, person_key, label = entry
        membership, wanted_dates = places[person.pk], dates[class_id, person_key]
        if (membership.starts_on, membership.ends_on) == wanted_dates:
            unchanged.append(entry)
            continue
        begin, end = (day.isoformat() if day else "open" for day in wanted_dates)
        rows = [f"{code}: student {label} from {begin} until {end}"]
        plan.add(ENROLMENTS, UPDATE, rows, MembershipDates(membership, *wanted_dates))
    return unchanged


def by_held_login(plan, people):
    """{held login name or None: [(person, key, label)]}, None first, in the people's order."""
    grouped = {None: []}
    for entry in people:
        grouped.setdefault(plan.login_held(entry[0]), []).append(entry)
    return grouped


def student_label(row):
    return f"{full_name(row)} ({student_number(row)})"


def member_label(person):
    return person.username if isinstance(person, User) else str(person)


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
            plan.add(STUDENTS, REMOVE, [f"{student}: deactivated{off}"], Deactivate(student, imported))


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
            why = why_held(user, link.import_manages)
            if why:
                plan.hold(user, why)
            rows = [f"{user.username}: out of the Teacher group{off}"]
            plan.add(TEACHERS, REMOVE, rows, Withdraw(user, imported), plan.login_held(user))


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
