from django.contrib import admin
from django.contrib.admin.helpers import AdminForm
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from access.admin_pages import AdminPermissions, ReadOnlyAdmin, admin_pages
from access.roles import teacher_logins

from . import sheets
from .access_log import log_access
from .admin_forms import ConsentForm, LabelledSplitDateTime, PeopleChoiceField, PersonChoiceField, StudentAdminForm
from .consent import record_consent
from .csv_files import csv_download
from .export import student_export_zip
from .forms import SessionSeriesForm
from .invitations import invite_students
from .models import (
    AccessLogEntry,
    AttendanceChange,
    AttendanceRecord,
    ClassSession,
    ConsentWithdrawal,
    Course,
    Membership,
    Notice,
    Room,
    SessionSeries,
    SheetSync,
    Student,
)
from .oneroster_admin import import_oneroster
from .search import matching_name
from .tasks import schedule_sync
from .teacher_admin import add_teacher
from .timetable import create_series_sessions, set_cancelled
from .withdrawal_admin import withdraw_consent_of_selected, withdraw_consent_of_student


def distance_shown(distance):
    """A match distance as people read it: three decimals are all that tell faces apart."""
    return "" if distance is None else f"{distance:.3f}"


class FromSchoolSystemFilter(admin.SimpleListFilter):
    """The students a OneRoster import brought (students/oneroster/): filter, select all, invite."""

    title = _("from the school's system")
    parameter_name = "imported"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(sourced_id__isnull=self.value() == "no")
        return queryset


class HasLoginFilter(admin.SimpleListFilter):
    title = _("login")
    parameter_name = "login"

    def lookups(self, request, model_admin):
        return [("none", _("No login")), ("yes", _("Has a login"))]

    def queryset(self, request, queryset):
        if self.value() in ("none", "yes"):
            return queryset.filter(user__isnull=self.value() == "none")
        return queryset


@admin.register(Student)
class StudentAdmin(admin.ModelAdmin):
    """A student's page; recognition/admin.py adds their enrolment photos to it."""

    form = StudentAdminForm
    list_display = ["full_name", "student_number", "email", "is_active", "consent_recorded_at"]
    list_filter = ["is_active", "courses", FromSchoolSystemFilter, HasLoginFilter]
    search_fields = ["full_name", "student_number", "email"]
    readonly_fields = ["consent_recorded_at", "consent_recorded_by"]
    autocomplete_fields = ["user"]
    actions = ["record_consent", "withdraw_consent", "invite_to_log_in", "export_student_data"]

    @admin.action(description=_("Invite the selected students to log in (e-mails each a set-password link)"))
    def invite_to_log_in(self, request, queryset):
        outcome = invite_students(queryset.select_related("user"), request.build_absolute_uri("/"))
        sent = len(outcome.sent)
        self.message_user(
            request,
            ngettext("Invitation sent to %(count)d student.", "Invitations sent to %(count)d students.", sent)
            % {"count": sent},
        )
        for student, why in outcome.skipped:
            self.message_user(
                request, _("%(student)s not invited: %(why)s.") % {"student": student, "why": why}, "warning"
            )
        for student, error in outcome.failed:
            self.message_user(
                request,
                _("%(student)s not invited: the e-mail could not be sent (%(error)s), so no login was created.")
                % {"student": student, "error": error},
                "error",
            )

    def get_search_results(self, request, queryset, search_term):
        """Django's search, and the name without its tone marks: "Nguyen" finds "Nguyễn"."""
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        return found | queryset.filter(matching_name(search_term)), may_have_duplicates

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["form_class"] = PersonChoiceField
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, student, form, change):
        super().save_model(request, student, form, change)
        # Filling "Consent given by" is recording consent: by whoever saves, now, and the
        # photos that waited for it are checked.
        if not student.has_consent and student.consent_given_by:
            record_consent(Student.objects.filter(pk=student.pk), request.user, student.consent_given_by)
            student.refresh_from_db(fields=["consent_recorded_at", "consent_recorded_by"])
            self.message_user(request, _("Consent recorded, given by %(who)s.") % {"who": student.consent_given_by})

    @admin.action(description=_("Record consent for face photos (asks who gave it)"))
    def record_consent(self, request, queryset):
        # Like Django's delete action: a page of its own asks who consented, then posts back here.
        form = ConsentForm(request.POST if "confirm" in request.POST else None)
        if form.is_valid():
            given_by = form.cleaned_data["given_by"]
            recorded = record_consent(queryset, request.user, given_by)
            self.message_user(
                request,
                ngettext(
                    "Consent recorded for %(count)d student, given by %(who)s.",
                    "Consent recorded for %(count)d students, given by %(who)s.",
                    recorded,
                )
                % {"count": recorded, "who": given_by},
            )
            return None
        students = list(queryset)
        return TemplateResponse(
            request,
            "admin/students/student/record_consent.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Record consent"),
                "opts": self.model._meta,
                "adminform": AdminForm(form, [(None, {"fields": ["given_by"]})], {}),
                "students": students,
                "waiting": [student for student in students if not student.has_consent],
                "already": [student for student in students if student.has_consent],
            },
        )

    @admin.action(description=_("Withdraw consent: delete their face data (asks on whose word)"))
    def withdraw_consent(self, request, queryset):
        return withdraw_consent_of_selected(self, request, queryset)

    @admin.action(description=_("Export everything stored about this student (zip)"))
    def export_student_data(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one student to export."), level="error")
            return None
        student = queryset.get()
        response = HttpResponse(student_export_zip(student), content_type="application/zip")
        log_access(
            AccessLogEntry.EXPORT, f"Everything stored about {student.student_number}", request=request, student=student
        )
        response["Content-Disposition"] = f'attachment; filename="student-{student.student_number}.zip"'
        response["Cache-Control"] = "private, no-store"
        return response

    # OneRoster import (students/oneroster_admin.py): linked from the student and course lists.
    def get_urls(self):
        oneroster = ("import-oneroster/", import_oneroster, "students_student_import_oneroster")
        withdraw = (
            "<path:object_id>/withdraw-consent/",
            withdraw_consent_of_student,
            "students_student_withdraw_consent",
        )
        return [*admin_pages(self, oneroster, withdraw), *super().get_urls()]


# A session's start and end: each of their date and time inputs labelled.
LABELLED_TIMES = {models.DateTimeField: {"widget": LabelledSplitDateTime}}


class MembershipInline(admin.TabularInline):
    """The course's students with the dates their membership counts from and until (Membership).
    A student added here starts today unless the date is changed: the sessions before do not
    count for them."""

    model = Membership
    extra = 0
    fields = ["student", "starts_on", "ends_on"]
    autocomplete_fields = ["student"]

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form.base_fields["starts_on"].initial = timezone.localdate
        return formset


class ClassSessionInline(admin.TabularInline):
    model = ClassSession
    extra = 0
    formfield_overrides = LABELLED_TIMES
    fields = ["starts_at", "ends_at", "room", "late_after_minutes", "closed_at", "cancelled_at"]


class SheetSyncInline(AdminPermissions, admin.StackedInline):
    model = SheetSync
    deletes = False
    verbose_name = verbose_name_plural = _("Google Sheets")
    fields = [
        "share_with",
        "checkmark_spreadsheet_id",
        "checkmark_worksheet",
        "timestamp_spreadsheet_id",
        "timestamp_worksheet",
        "problem",
        "is_behind",
        "last_success_at",
        "attempts",
        "next_sync_at",
    ]
    readonly_fields = ["share_with", "problem", "is_behind", "last_success_at", "attempts", "next_sync_at"]

    @admin.display(description=_("Share the sheets with"))
    def share_with(self, sync):
        return sheets.service_account_email()

    @admin.display(description=_("Problem"))
    def problem(self, sync):
        return sheets.sheet_sync_problem(sync.course) if sync.pk else ""

    @admin.display(description=_("Changed since the last sync"), boolean=True)
    def is_behind(self, sync):
        return sync.is_behind


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "student_count", "sheets_problem"]
    search_fields = ["code", "name"]
    filter_horizontal = ["teachers"]
    inlines = [MembershipInline, ClassSessionInline, SheetSyncInline]
    actions = ["sync_sheets_now"]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "teachers":
            kwargs.update(queryset=teacher_logins(), form_class=PeopleChoiceField)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_urls(self):
        return [*admin_pages(self, ("add-teacher/", add_teacher, "students_course_add_teacher")), *super().get_urls()]

    @admin.display(description=_("Students"))
    def student_count(self, course):
        return course.students.count()

    @admin.display(description=_("Google Sheets problem"))
    def sheets_problem(self, course):
        return sheets.sheet_sync_problem(course)

    @admin.action(description=_("Sync to Google Sheets now"))
    def sync_sheets_now(self, request, queryset):
        sheets.ensure_sheet_syncs(queryset.values_list("pk", flat=True))
        queued = sum(schedule_sync(course.pk, 0) for course in queryset)
        self.message_user(
            request,
            ngettext(
                "Sync queued for %(count)d course; courses without a spreadsheet are skipped.",
                "Sync queued for %(count)d courses; courses without a spreadsheet are skipped.",
                queued,
            )
            % {"count": queued},
        )


@admin.register(SessionSeries)
class SessionSeriesAdmin(admin.ModelAdmin):
    """A timetable row; saving it makes its sessions that do not exist yet. Once made, only its
    last date and holidays change (moving the last date later makes the new sessions): one
    session is changed or cancelled on its own, under Class sessions."""

    form = SessionSeriesForm
    fields = ["course", *SessionSeriesForm.Meta.fields]
    list_display = ["__str__", "course", "room", "first_date", "last_date", "session_count"]
    list_filter = ["course"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["course", "weekdays", "start_time", "end_time", "room", "late_after_minutes", "first_date"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is not None:
            # The read-only weekdays must not be required of the change form.
            kwargs["form"] = type("SessionSeriesChangeForm", (SessionSeriesForm,), {"weekdays": None})
        return super().get_form(request, obj, **kwargs)

    @admin.display(description=_("Sessions"))
    def session_count(self, series):
        return series.sessions.count()

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        made = create_series_sessions(obj)
        self.message_user(
            request, ngettext("%(count)d session created.", "%(count)d sessions created.", made) % {"count": made}
        )


@admin.register(ClassSession)
class ClassSessionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "course", "starts_at", "ends_at", "room", "late_after_minutes", "is_cancelled"]
    list_filter = ["course", "starts_at", ("cancelled_at", admin.EmptyFieldListFilter), "series"]
    date_hierarchy = "starts_at"
    readonly_fields = ["cancelled_at", "series"]
    formfield_overrides = LABELLED_TIMES
    actions = ["cancel_sessions", "restore_sessions"]

    @admin.display(description=_("Cancelled"), boolean=True)
    def is_cancelled(self, session):
        return session.is_cancelled

    @admin.action(description=_("Cancel the selected sessions (they then count nowhere)"))
    def cancel_sessions(self, request, queryset):
        changed = sum(set_cancelled(session, True) for session in queryset)
        self.message_user(
            request,
            ngettext("%(count)d session cancelled.", "%(count)d sessions cancelled.", changed) % {"count": changed},
        )

    @admin.action(description=_("Restore the selected cancelled sessions"))
    def restore_sessions(self, request, queryset):
        changed = 0
        for session in queryset:
            try:
                changed += set_cancelled(session, False)
            except ValidationError as refused:
                self.message_user(
                    request,
                    _("%(session)s was not restored: %(why)s")
                    % {"session": session, "why": " ".join(refused.messages)},
                    "error",
                )
        self.message_user(
            request,
            ngettext("%(count)d session restored.", "%(count)d sessions restored.", changed) % {"count": changed},
        )


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    """The school's rooms: sessions are held in them and a classroom camera is bound to one."""

    list_display = ["name", "session_count"]
    search_fields = ["name"]

    @admin.display(description=_("Sessions"))
    def session_count(self, room):
        return room.sessions.count()


class AttendanceChangeInline(AdminPermissions, admin.TabularInline):
    """A record's audit trail: written only as the status changes."""

    model = AttendanceChange
    extra = 0
    adds = deletes = False
    readonly_fields = ["changed_at", "changed_by", "old_status", "new_status", "reason"]


ATTENDANCE_CSV_COLUMNS = [
    _("course"),
    _("session start"),
    _("student number"),
    _("student"),
    _("status"),
    _("first seen"),
    _("source"),
    _("distance"),
]


def attendance_csv_row(record):
    first_seen = timezone.localtime(record.first_seen_at).isoformat() if record.first_seen_at else ""
    return [
        record.session.course.code,
        timezone.localtime(record.session.starts_at).isoformat(),
        record.student.student_number,
        record.student.full_name,
        record.status,
        first_seen,
        record.source,
        distance_shown(record.match_distance),
    ]


@admin.register(AttendanceRecord)
class AttendanceRecordAdmin(admin.ModelAdmin):
    list_display = ["student", "session", "status", "first_seen_at", "source", "distance"]
    # The machine's measurement: shown rounded, never edited.
    exclude = ["match_distance"]
    readonly_fields = ["distance"]
    list_filter = ["session__course", ("session__starts_at", admin.DateFieldListFilter), "status", "source"]
    search_fields = ["student__full_name", "student__student_number"]
    list_select_related = ["student", "session__course"]
    inlines = [AttendanceChangeInline]
    actions = ["export_csv"]

    @admin.display(description=_("Match distance"), ordering="match_distance")
    def distance(self, record):
        return distance_shown(record.match_distance)

    @admin.action(description=_("Export selected records as CSV"))
    def export_csv(self, request, queryset):
        records = queryset.select_related("student", "session__course")
        log_access(AccessLogEntry.EXPORT, f"Attendance CSV of {queryset.count()} record(s)", request=request)
        return csv_download("attendance.csv", ATTENDANCE_CSV_COLUMNS, map(attendance_csv_row, records))


# --- Notices (students/notices.py) ----------------------------------------------------------


class NoticeStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"
    CONDITIONS = {
        "sent": Q(sent_at__isnull=False),
        "waiting": Q(sent_at__isnull=True, next_attempt_at__isnull=False, attempts=0),
        "retrying": Q(sent_at__isnull=True, next_attempt_at__isnull=False, attempts__gt=0),
        "failed": Q(sent_at__isnull=True, next_attempt_at__isnull=True),
    }

    def lookups(self, request, model_admin):
        return [(status, status.capitalize()) for status in self.CONDITIONS]

    def queryset(self, request, queryset):
        condition = self.CONDITIONS.get(self.value())
        return queryset.filter(condition) if condition else queryset


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    """What went out, to whom, and what is still waiting; written only by students/notices.py."""

    list_display = ["kind", "recipient", "student", "course", "session", "status", "attempts", "created_at", "sent_at"]
    list_filter = [NoticeStatusFilter, "kind", "course", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["recipient", "student__full_name", "student__student_number", "course__code"]
    list_select_related = ["student", "course", "session__course"]
    date_hierarchy = "created_at"

    @admin.display(description=_("Status"))
    def status(self, notice):
        return notice.status


# --- Consent withdrawals and the access log (students/consent.py, students/access_log.py) ---------


@admin.register(ConsentWithdrawal)
class ConsentWithdrawalAdmin(ReadOnlyAdmin):
    list_display = ["student_number", "withdrawn_by", "withdrawn_at", "recorded_by", "recorded_at", "deleted"]
    search_fields = ["student_number", "withdrawn_by"]


@admin.register(AccessLogEntry)
class AccessLogEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "who", "action", "what", "student", "address"]
    list_filter = ["action", ("at", admin.DateFieldListFilter)]
    search_fields = ["who", "what", "student__student_number", "student__full_name", "address"]
    list_select_related = ["student"]
