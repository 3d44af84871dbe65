from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Lower
from django.db.models.signals import pre_delete, pre_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from access.roles import ADMIN_GROUP, TEACHER_GROUP

from . import vocabulary
from .names import one_line, refuse_control_characters, search_key
from .schedule import SCHEDULE_FIELDS, check_schedule
from .session_photos import session_photos
from .times import session_time


def logins_a_student_may_have():
    """A student's login is nobody's staff login: linking a teacher's or an admin's account to a
    student would show them as that student and give the student their reach."""
    return ~models.Q(groups__name__in=[ADMIN_GROUP, TEACHER_GROUP]) & models.Q(is_superuser=False)


class StudentQuerySet(models.QuerySet):
    def active(self):
        """Students at the school now: one who leaves is deactivated, never deleted, so that their
        attendance stays; nobody is marked, listed on a roster or sent a notice for them."""
        return self.filter(is_active=True)

    def with_consent(self):
        """Students whose consent to process their face photos is recorded (students/consent.py)."""
        return self.filter(consent_recorded_at__isnull=False)

    def without_consent(self):
        return self.filter(consent_recorded_at__isnull=True)

    def consent_withdrawn(self):
        """Students whose consent was withdrawn and not given again (students/consent.py)."""
        return self.filter(consent_recorded_at__isnull=True, consent_withdrawals__isnull=False)


class Student(models.Model):
    student_number = models.CharField(
        max_length=32, unique=True, validators=[refuse_control_characters], verbose_name=_("student number")
    )
    full_name = models.CharField(max_length=200, validators=[refuse_control_characters], verbose_name=_("full name"))
    email = models.EmailField(blank=True, verbose_name=_("email"))
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="student",
        limit_choices_to=logins_a_student_may_have,
        help_text=_("The login this student uses to see their own attendance (not a teacher's or an admin's)."),
        verbose_name=_("user"),
    )
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))
    # Face photos are biometric data: no enrolment photo is processed before consent is recorded.
    consent_recorded_at = models.DateTimeField(null=True, blank=True, verbose_name=_("consent recorded at"))
    consent_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("consent recorded by"),
    )
    consent_given_by = models.CharField(
        max_length=200,
        blank=True,
        validators=[refuse_control_characters],
        help_text=_("Who consented: the student, or a guardian's name for a minor."),
        verbose_name=_("consent given by"),
    )
    # OneRoster import (students/oneroster/): the school's system's id for this student.
    sourced_id = models.CharField(
        max_length=255,
        unique=True,
        null=True,
        blank=True,
        help_text=_("The id of this student in the school's system."),
        verbose_name=_("sourced id"),
    )
    # Notices (students/notices.py).
    guardian_email = models.EmailField(
        blank=True,
        help_text=_("Where absence notices go; none are sent while it is empty."),
        verbose_name=_("guardian email"),
    )
    email_language = models.CharField(
        _("language of e-mails to the guardian"),
        max_length=16,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_("Empty: the school's language for guardians' e-mails (GUARDIAN_EMAIL_LANGUAGE)."),
    )
    # The name folded for search (students/names.py: search_key), kept as the row is saved:
    # "Nguyen" finds "Nguyễn" on every database, without an extension.
    search_name = models.CharField(
        max_length=200, blank=True, editable=False, db_index=True, verbose_name=_("search name")
    )

    objects = StudentQuerySet.as_manager()

    class Meta:
        verbose_name = _("student")
        verbose_name_plural = _("students")
        ordering = ["full_name"]

    def save(self, *args, **kwargs):
        self.search_name = search_key(self.full_name)
        if kwargs.get("update_fields") is not None and "full_name" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "search_name"}
        super().save(*args, **kwargs)

    def __str__(self):
        return f"{self.full_name} ({self.student_number})"

    @property
    def has_consent(self):
        return self.consent_recorded_at is not None

    def wait_for_captures_saving(self):
        """Take this student's row lock inside a deletion. A capture saving its results holds the
        rows of the students it marks (recognition.processing.lock_nameable_students): the
        deletion waits for it to commit, then sees the faces and records it wrote. The whole
        locking, in one place: docs/architecture.md, "A deletion against a capture"."""
        Student.objects.select_for_update().filter(pk=self.pk).values_list("pk", flat=True).first()


class Course(models.Model):
    code = models.CharField(max_length=32, unique=True, validators=[refuse_control_characters], verbose_name=_("code"))
    name = models.CharField(max_length=200, validators=[refuse_control_characters], verbose_name=_("name"))
    teachers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="courses_taught", verbose_name=_("teachers")
    )
    # Through Membership: a student's place in a course has dates (Membership).
    students = models.ManyToManyField(
        Student, blank=True, related_name="courses", through="Membership", verbose_name=_("students")
    )
    # OneRoster import (students/oneroster/): the school's system's id of the class.
    sourced_id = models.CharField(
        max_length=255,
        unique=True,
        null=True,
        blank=True,
        help_text=_("The id of this class in the school's system."),
        verbose_name=_("sourced id"),
    )

    class Meta:
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        ordering = ["code"]

    def __str__(self):
        # A course imported by code alone has no name until someone fills it in.
        return f"{self.code} {self.name}".strip()


class MembershipQuerySet(models.QuerySet):
    def on(self, day):
        """The memberships that include this (local) date."""
        return self.filter(
            Q(starts_on__isnull=True) | Q(starts_on__lte=day), Q(ends_on__isnull=True) | Q(ends_on__gte=day)
        )


class Membership(models.Model):
    """A student's place in a course, from a date and maybe until one. Only the sessions held on
    those dates count for them: a student who joins mid-term is not absent from what came before.
    Empty dates are open: no start date is since the course began (what every membership made
    before memberships had dates has), no end date is still a member."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("course"))
    student = models.ForeignKey(
        Student, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("student")
    )
    starts_on = models.DateField(
        null=True,
        blank=True,
        help_text=_("The first day that counts for the student here; empty: from the start."),
        verbose_name=_("starts on"),
    )
    ends_on = models.DateField(
        null=True,
        blank=True,
        help_text=_("The last day that counts for the student here; empty: still a member."),
        verbose_name=_("ends on"),
    )

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["course", "student__full_name"]
        verbose_name = _("student in the course")
        verbose_name_plural = _("students in the course")
        constraints = [
            models.UniqueConstraint(fields=["course", "student"], name="one_membership_per_student_per_course"),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(starts_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="membership_ends_after_it_starts",
                violation_error_message=_("A membership cannot end before it starts."),
            ),
        ]

    def __str__(self):
        return f"{self.student} in {self.course.code}"

    def covers(self, day):
        return (self.starts_on is None or self.starts_on <= day) and (self.ends_on is None or day <= self.ends_on)


# OneRoster import (students/oneroster/).
class RosterTeacher(models.Model):
    """Which login a teacher of the school's system (OneRoster sourcedId) has here."""

    sourced_id = models.CharField(max_length=255, unique=True, verbose_name=_("sourced id"))
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="roster_teacher", verbose_name=_("user")
    )
    # An import changes a login only when it made it, or a person confirmed it by name once; an
    # admin's login never without that person's confirmation each time (students/oneroster/planning.py).
    import_manages = models.BooleanField(
        default=False,
        help_text=_("The import made this login, or an admin confirmed that it may keep it up to date."),
        verbose_name=_("import manages"),
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("confirmed by"),
    )
    confirmed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("confirmed at"))

    class Meta:
        verbose_name = _("roster teacher")
        verbose_name_plural = _("roster teachers")

    def __str__(self):
        return f"{self.user.username} ({self.sourced_id})"


class Room(models.Model):
    """A room the school defines (in the admin): sessions are held in one, and a classroom
    camera's device token is bound to one (access.DeviceToken). Nobody else makes rooms,
    so a session cannot be put in a room that a camera serves by spelling it differently."""

    name = models.CharField(
        max_length=64,
        validators=[refuse_control_characters],
        help_text=_("As the school calls it, e.g. 'Room 12'."),
        verbose_name=_("name"),
    )

    class Meta:
        verbose_name = _("room")
        verbose_name_plural = _("rooms")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="one_room_per_name_ignoring_case",
                violation_error_message="A room of this name exists already (names are compared without case).",
            )
        ]

    def __str__(self):
        return self.name


# Monday 0, as date.weekday(); the names are Django's own, translated by its catalogue.
WEEKDAYS = sorted(WEEKDAYS_ABBR.items())


class SessionSeries(models.Model):
    """A row of a course's weekly timetable: a session on each of these weekdays at these local
    times, from the first date to the last, except the dates to skip. Its sessions are made by
    students.timetable.create_series_sessions; each can then be edited or cancelled on its own."""

    course = models.ForeignKey(
        Course, on_delete=models.CASCADE, related_name="session_series", verbose_name=_("course")
    )
    weekdays = models.CharField(
        max_length=7,
        help_text=_("The weekday numbers, Monday 0: '02' is Monday and Wednesday."),
        verbose_name=_("weekdays"),
    )
    start_time = models.TimeField(verbose_name=_("start time"))
    end_time = models.TimeField(verbose_name=_("end time"))
    room = models.ForeignKey(
        Room, null=True, blank=True, on_delete=models.PROTECT, related_name="session_series", verbose_name=_("room")
    )
    late_after_minutes = models.PositiveIntegerField(
        default=10,
        help_text=_("A student first seen more than this many minutes after the start is late."),
        verbose_name=_("late after minutes"),
    )
    first_date = models.DateField(verbose_name=_("first date"))
    last_date = models.DateField(verbose_name=_("last date"))
    skip_dates = models.TextField(
        blank=True,
        help_text=_(
            "Dates with no session (holidays), separated by commas or lines: 2026-12-25, "
            "or a range: 2026-10-26 to 2026-10-30."
        ),
        verbose_name=_("skip dates"),
    )

    class Meta:
        ordering = ["course", "first_date", "start_time"]
        verbose_name = _("timetable row")
        verbose_name_plural = _("timetable")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_time__gt=models.F("start_time")), name="series_ends_after_start"
            ),
            models.CheckConstraint(
                condition=models.Q(last_date__gte=models.F("first_date")), name="series_last_after_first"
            ),
        ]

    def __str__(self):
        day = pgettext_lazy("date format", "j M Y")
        words = {
            "course": self.course.code,
            "days": self.weekday_names,
            "hours": f"{self.start_time:%H:%M}–{self.end_time:%H:%M}",
            "room": self.room,
            "first": date_format(self.first_date, day),
            "last": date_format(self.last_date, day),
        }
        if self.room:
            return _("%(course)s %(days)s %(hours)s in %(room)s, %(first)s to %(last)s") % words
        return _("%(course)s %(days)s %(hours)s, %(first)s to %(last)s") % words

    @property
    def weekday_numbers(self):
        return [int(digit) for digit in self.weekdays]

    @property
    def weekday_names(self):
        names = dict(WEEKDAYS)
        return ", ".join(str(names[number]) for number in self.weekday_numbers)


class ClassSessionQuerySet(models.QuerySet):
    def not_cancelled(self):
        """A cancelled session stays, with whatever was recorded in it, but counts nowhere."""
        return self.filter(cancelled_at__isnull=True)

    def with_taken(self):
        """Each session with `is_taken`: attendance was taken in it, by a class photo, an
        attendance record (a person's mark or a recognised face) or a close. The one definition
        of "taken": a session over that nobody took is "not taken", counts nowhere (no absences)
        and is what the not-taken reminder is about (students/notices.py)."""
        return self.annotate(
            is_taken=Q(closed_at__isnull=False)
            | Exists(AttendanceRecord.objects.filter(session=OuterRef("pk")))
            | Q(session_photos().any_photo())
        )

    def taken(self):
        return self.with_taken().filter(is_taken=True)

    def not_taken(self):
        return self.with_taken().filter(is_taken=False)


class ClassSession(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="sessions", verbose_name=_("course"))
    starts_at = models.DateTimeField(verbose_name=_("starts at"))
    ends_at = models.DateTimeField(verbose_name=_("ends at"))
    room = models.ForeignKey(
        Room,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sessions",
        help_text=_("A room's camera sends its snapshots to the session held there at the time."),
        verbose_name=_("room"),
    )
    late_after_minutes = models.PositiveIntegerField(
        default=10,
        help_text=_("A student first seen more than this many minutes after the start is late."),
        verbose_name=_("late after minutes"),
    )
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed at"))
    # A cancelled session stays (with whatever was recorded in it) but counts nowhere: not in
    # percentages, not among today's sessions, not in the Sheets grid.
    cancelled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("cancelled at"))
    series = models.ForeignKey(
        SessionSeries,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sessions",
        help_text=_("The timetable row this session was made from, if any."),
        verbose_name=_("series"),
    )
    # The series' date this session stands for, kept when the session is moved to another day
    # or time: a second run of the series knows the date is done.
    series_date = models.DateField(null=True, blank=True, editable=False, verbose_name=_("series date"))

    objects = ClassSessionQuerySet.as_manager()

    class Meta:
        verbose_name = _("class session")
        verbose_name_plural = _("class sessions")
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="session_ends_after_start"
            ),
            models.UniqueConstraint(fields=["series", "series_date"], name="one_session_per_series_date"),
        ]

    def __str__(self):
        return f"{self.course.code} {session_time(self, 'stamp')}"

    @property
    def is_cancelled(self):
        return self.cancelled_at is not None

    @property
    def local_day(self):
        return timezone.localdate(self.starts_at)

    def members(self):
        """The active students in the course on the session's day (their Membership covers it):
        the roster, and whom a close marks absent."""
        on_the_day = Membership.objects.filter(course_id=self.course_id).on(self.local_day)
        return Student.objects.active().filter(memberships__in=on_the_day)

    @property
    def late_mark(self):
        return self.starts_at + timedelta(minutes=self.late_after_minutes)

    def clean(self):
        super().clean()
        check_schedule(self)

    def save(self, *args, **kwargs):
        """Whatever saves a session (a form, the API, the admin, a restore), its times and room
        are checked again here, with its room's row locked: two sessions made at once in one
        room cannot both pass (students/schedule.py). A save that changes none of them (a close)
        is not checked: a session made before the rules keeps working."""
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and not SCHEDULE_FIELDS.intersection(update_fields):
            return super().save(*args, **kwargs)
        with transaction.atomic():
            if self.room_id:
                Room.objects.select_for_update().filter(pk=self.room_id).values_list("pk", flat=True).first()
            check_schedule(self)
            return super().save(*args, **kwargs)


class AttendanceRecord(models.Model):
    PRESENT, LATE, ABSENT, EXCUSED = vocabulary.PRESENT, vocabulary.LATE, vocabulary.ABSENT, vocabulary.EXCUSED
    STATUS_CHOICES = vocabulary.record_status_choices()
    PHOTO, CAMERA, MANUAL, CLOSE, NOT_SEEN, FACE = "photo", "camera", "manual", "close", "not_seen", "face"
    # FACE: a person said who a face in a photo is (a "Who is this?" card, "Yes, <student>"): their
    # decision, which the machine does not change, but it stands on that face, so it goes when
    # the face is said not to be them and no other face shows them (students/attendance.py:
    # withdraw_sighting). MANUAL, a status set in the roster, stays whatever the faces say.
    # CLOSE: absent because the session was closed before the student was seen; NOT_SEEN: absent
    # because a teacher had everyone not seen yet marked absent while the session was open. Both
    # are the system's decision on behalf of that teacher (marked_by), not a teacher's own
    # "absent": a photo taken before the close replaces them. A reopen removes CLOSE's only.
    SOURCE_CHOICES = [
        (PHOTO, _("Photo")),
        (CAMERA, _("Camera")),
        (MANUAL, _("Manual")),
        (CLOSE, _("Session closed")),
        (NOT_SEEN, _("Not seen yet, marked absent")),
        (FACE, _("Named on a photo")),
    ]

    session = models.ForeignKey(
        ClassSession, on_delete=models.CASCADE, related_name="attendance", verbose_name=_("session")
    )
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="attendance", verbose_name=_("student"))
    status = models.CharField(max_length=10, choices=STATUS_CHOICES, verbose_name=_("status"))
    first_seen_at = models.DateTimeField(null=True, blank=True, verbose_name=_("first seen at"))
    source = models.CharField(max_length=10, choices=SOURCE_CHOICES, verbose_name=_("source"))
    match_distance = models.FloatField(null=True, blank=True, verbose_name=_("match distance"))
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("marked by"),
    )
    marked_at = models.DateTimeField(auto_now=True, verbose_name=_("marked at"))

    class Meta:
        verbose_name = _("attendance record")
        verbose_name_plural = _("attendance records")
        ordering = ["session__starts_at", "student__full_name"]
        constraints = [
            models.UniqueConstraint(fields=["session", "student"], name="one_record_per_student_per_session")
        ]

    def __str__(self):
        return f"{self.student.full_name} {self.status} at {self.session}"

    @property
    def is_manual(self):
        """A person's decision, in the roster or on a face: recognition never changes it."""
        return self.source in (self.MANUAL, self.FACE)

    @property
    def is_absent_at_close(self):
        return self.source == self.CLOSE

    @property
    def is_absent_not_seen(self):
        return self.source in (self.CLOSE, self.NOT_SEEN)


class AttendanceChange(models.Model):
    """The audit trail: every change of a record's status, who made it and why."""

    record = models.ForeignKey(
        AttendanceRecord, on_delete=models.CASCADE, related_name="changes", verbose_name=_("record")
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("changed by"),
    )
    changed_at = models.DateTimeField(default=timezone.now, verbose_name=_("changed at"))
    old_status = models.CharField(max_length=10, blank=True, verbose_name=_("old status"))
    new_status = models.CharField(max_length=10, verbose_name=_("new status"))
    reason = models.CharField(max_length=300, blank=True, verbose_name=_("reason"))

    class Meta:
        verbose_name = _("attendance change")
        verbose_name_plural = _("attendance changes")
        ordering = ["changed_at"]

    def __str__(self):
        return f"{self.old_status or '-'} -> {self.new_status}"


class SessionEvent(models.Model):
    """The audit trail of a session itself: who closed or reopened it, or had everyone not seen
    yet marked absent, and when."""

    CLOSED, REOPENED, MARKED_NOT_SEEN_ABSENT, CLEARED = "closed", "reopened", "not_seen_absent", "status_cleared"
    ACTION_CHOICES = [
        (CLOSED, _("Closed")),
        (REOPENED, _("Reopened")),
        (MARKED_NOT_SEEN_ABSENT, _("Marked everyone not seen absent")),
        # A student's record removed (back to "not seen yet"): the record's own trail goes with
        # it, so this one keeps what it was.
        (CLEARED, _("Set back to not seen yet")),
    ]

    session = models.ForeignKey(
        ClassSession, on_delete=models.CASCADE, related_name="events", verbose_name=_("session")
    )
    action = models.CharField(max_length=16, choices=ACTION_CHOICES, verbose_name=_("action"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("by"),
    )
    at = models.DateTimeField(default=timezone.now, verbose_name=_("at"))
    detail = models.TextField(blank=True, verbose_name=_("detail"))

    class Meta:
        verbose_name = _("session event")
        verbose_name_plural = _("session events")
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.get_action_display()} {self.session}"


class SheetSync(models.Model):
    """Where a course's attendance is mirrored in Google Sheets, and how far behind the mirror is.

    Blank spreadsheet ids and worksheet names fall back to the GOOGLE_SHEETS_* settings, so one
    school-wide spreadsheet can hold a worksheet pair per course.
    """

    course = models.OneToOneField(Course, on_delete=models.CASCADE, related_name="sheet_sync", verbose_name=_("course"))
    checkmark_spreadsheet_id = models.CharField(
        max_length=100,
        blank=True,
        help_text=_("The id in the spreadsheet's address (…/spreadsheets/d/ID/edit)."),
        verbose_name=_("checkmark spreadsheet id"),
    )
    checkmark_worksheet = models.CharField(max_length=100, blank=True, verbose_name=_("checkmark worksheet"))
    timestamp_spreadsheet_id = models.CharField(
        max_length=100,
        blank=True,
        help_text=_("May be the same spreadsheet as the check marks."),
        verbose_name=_("timestamp spreadsheet id"),
    )
    timestamp_worksheet = models.CharField(max_length=100, blank=True, verbose_name=_("timestamp worksheet"))
    # Counters, not a flag: a change that lands while a sync is writing keeps the course behind.
    changes_seen = models.PositiveIntegerField(default=0, verbose_name=_("changes seen"))
    changes_synced = models.PositiveIntegerField(default=0, verbose_name=_("changes synced"))
    next_sync_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When the queued sync runs; empty when none is queued."),
        verbose_name=_("next sync at"),
    )
    last_success_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last success at"))
    last_error = models.TextField(blank=True, verbose_name=_("last error"))
    last_error_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last error at"))
    attempts = models.PositiveIntegerField(
        default=0, help_text=_("Failed attempts since the last success."), verbose_name=_("attempts")
    )
    stopped = models.BooleanField(
        default=False,
        help_text=_("The last error needs a person (access, credentials); no retries until it is fixed."),
        verbose_name=_("stopped"),
    )

    class Meta:
        verbose_name = _("sheet sync")
        verbose_name_plural = _("sheet syncs")

    def __str__(self):
        return f"Google Sheets sync of {self.course.code}"

    @property
    def is_behind(self):
        return self.changes_seen != self.changes_synced

    @property
    def checkmark_target(self):
        return (
            self.checkmark_spreadsheet_id or settings.GOOGLE_SHEETS_CHECKMARK_SPREADSHEET_ID,
            self.checkmark_worksheet or settings.GOOGLE_SHEETS_CHECKMARK_WORKSHEET.format(code=self.course.code),
        )

    @property
    def timestamp_target(self):
        return (
            self.timestamp_spreadsheet_id or settings.GOOGLE_SHEETS_TIMESTAMP_SPREADSHEET_ID,
            self.timestamp_worksheet or settings.GOOGLE_SHEETS_TIMESTAMP_WORKSHEET.format(code=self.course.code),
        )

    @property
    def is_configured(self):
        return bool(self.checkmark_target[0] and self.timestamp_target[0])

    def clean(self):
        if self.checkmark_target == self.timestamp_target:
            raise ValidationError("The check marks and the timestamps need different worksheets.")


# --- Notices (students/notices.py) ----------------------------------------------------------


class Notice(models.Model):
    """One e-mail Roll Call sends, recorded before it is sent: the row is what makes a notice go
    out once, whatever retries, re-closes or concurrent beat runs occur."""

    ABSENCE, DIGEST, REMINDER = "absence", "digest", "reminder"
    KIND_CHOICES = [
        (ABSENCE, _("Absence notice to a guardian")),
        (DIGEST, _("Weekly low-attendance digest to a teacher")),
        (REMINDER, _("Attendance not taken, to a teacher")),
    ]

    kind = models.CharField(max_length=10, choices=KIND_CHOICES, verbose_name=_("kind"))
    recipient = models.EmailField(verbose_name=_("recipient"))
    student = models.ForeignKey(
        Student, null=True, blank=True, on_delete=models.CASCADE, related_name="notices", verbose_name=_("student")
    )
    session = models.ForeignKey(
        ClassSession, null=True, blank=True, on_delete=models.CASCADE, related_name="notices", verbose_name=_("session")
    )
    course = models.ForeignKey(
        Course, null=True, blank=True, on_delete=models.CASCADE, related_name="notices", verbose_name=_("course")
    )
    week = models.DateField(
        null=True, blank=True, help_text=_("The Monday of the week a digest covers."), verbose_name=_("week")
    )
    subject = models.CharField(max_length=200, verbose_name=_("subject"))
    body = models.TextField(verbose_name=_("body"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    next_attempt_at = models.DateTimeField(
        null=True,
        blank=True,
        default=timezone.now,
        help_text=_("When the next attempt is due; empty once it is sent or given up."),
        verbose_name=_("next attempt at"),
    )
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    last_error = models.TextField(blank=True, verbose_name=_("last error"))

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["-created_at"]
        # The natural key of each kind. Partial constraints, because a unique constraint over
        # columns that are empty for the kind would treat every empty value as distinct.
        constraints = [
            models.UniqueConstraint(
                fields=["student", "session"],
                condition=models.Q(kind="absence"),
                name="one_absence_notice_per_student_per_session",
            ),
            models.UniqueConstraint(
                fields=["recipient", "course", "week"],
                condition=models.Q(kind="digest"),
                name="one_digest_per_teacher_per_course_per_week",
            ),
            models.UniqueConstraint(
                fields=["recipient", "session"],
                condition=models.Q(kind="reminder"),
                name="one_reminder_per_teacher_per_session",
            ),
        ]
        indexes = [models.Index(fields=["next_attempt_at"], name="notice_due")]

    def __str__(self):
        return f"{self.get_kind_display()} to {self.recipient}"

    @property
    def status(self):
        if self.sent_at:
            return "sent"
        if self.next_attempt_at is None:
            return "failed"
        return "retrying" if self.attempts else "waiting"


class AppendOnly(models.Model):
    """A record that is written once and never changed nor deleted through the site: an audit
    trail that its own subject could edit would prove nothing."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError(f"{type(self).__name__} is append-only: a row is never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError(f"{type(self).__name__} is append-only: a row is never deleted.")


class ConsentWithdrawal(AppendOnly):
    """A withdrawal of consent (students/consent.py: withdraw_consent): when, on whose word,
    recorded by whom, and what of the student's face data it deleted."""

    student = models.ForeignKey(
        Student, null=True, on_delete=models.SET_NULL, related_name="consent_withdrawals", verbose_name=_("student")
    )
    student_number = models.CharField(_("student number"), max_length=64)
    withdrawn_by = models.CharField(
        _("withdrawn by"), max_length=200, help_text=_("On whose word: the student, or the guardian's name.")
    )
    withdrawn_at = models.DateTimeField(_("withdrawn at"), help_text=_("When they withdrew it."))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    consent_given_by = models.CharField(_("consent had been given by"), max_length=200, blank=True)
    deleted = models.JSONField(_("deleted"), default=dict, help_text=_("How many of each kind of face data went."))

    class Meta:
        ordering = ["-recorded_at"]
        verbose_name = _("consent withdrawal")
        verbose_name_plural = _("consent withdrawals")

    def __str__(self):
        return f"{self.student_number}: {self.withdrawn_by}"


class AccessLogEntry(AppendOnly):
    """Who saw a face image, exported data or withdrew consent: when, what and from where
    (students/access_log.py). Kept for the school to answer "who looked at my child's face?"."""

    VIEW_IMAGE, EXPORT, WITHDRAWAL = "view_image", "export", "withdrawal"
    ACTION_CHOICES = [
        (VIEW_IMAGE, _("Viewed or downloaded a face image")),
        (EXPORT, _("Exported data")),
        (WITHDRAWAL, _("Withdrew consent")),
    ]

    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("user")
    )
    who = models.CharField(_("who"), max_length=200, help_text=_("The login, kept if the login is deleted."))
    action = models.CharField(_("action"), max_length=20, choices=ACTION_CHOICES)
    what = models.CharField(_("what"), max_length=300)
    student = models.ForeignKey(
        Student, null=True, blank=True, on_delete=models.SET_NULL, related_name="access_log", verbose_name=_("student")
    )
    address = models.CharField(
        _("from where"), max_length=64, help_text=_("The client's address, or the command line.")
    )

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")

    def __str__(self):
        return f"{self.who}: {self.what}"


@receiver(pre_delete, sender=Student)
def delete_attendance_written_meanwhile(sender, instance, **kwargs):
    # The deletion listed the records to cascade to before this signal: a record that a capture
    # committed since would be left pointing at no student, and the deletion would fail.
    instance.wait_for_captures_saving()
    AttendanceRecord.objects.filter(student=instance).delete()


# The text fields of each model that hold a name: saved on one line whatever wrote them
# (students/names.py); forms refuse a name that is not, with a message.
NAME_FIELDS = {
    Student: ["student_number", "full_name", "consent_given_by"],
    Course: ["code", "name"],
    Room: ["name"],
    settings.AUTH_USER_MODEL: ["first_name", "last_name"],
}


def keep_names_on_one_line(sender, instance, **kwargs):
    for field in NAME_FIELDS.get(sender) or NAME_FIELDS[sender._meta.label]:
        setattr(instance, field, one_line(getattr(instance, field)))


for named_model in NAME_FIELDS:
    pre_save.connect(keep_names_on_one_line, sender=named_model, dispatch_uid=f"one-line-names-{named_model}")
