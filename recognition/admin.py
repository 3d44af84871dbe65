from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.widgets import AdminFileWidget
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from access.admin_pages import AdminPermissions, ReadOnlyAdmin
from students.admin import StudentAdmin, distance_shown
from students.models import Student

from .enrolment import add_enrolment_photo
from .enrolment_review import approve_held_photos, refuse_held_photos
from .heartbeat import WORKER_STOPPED_AFTER_BEATS, queue_summary, worker_is_running
from .models import (
    Capture,
    DetectedFace,
    FaceCorrection,
    FaceKeyRotation,
    FacePhoto,
    HeldFacePhoto,
    RetentionSweep,
    WorkerHeartbeat,
)
from .records import records_of_processing
from .uploads import ImageRejected, check_photo_upload


def thumbnail(url, alt, height=96):
    return format_html('<img src="{}" alt="{}" height="{}">', url, alt, height)


def photo_thumbnail(photo, height=96):
    return thumbnail(
        reverse("face_photo_image", args=[photo.pk]), _("Enrolment photo %(number)s") % {"number": photo.pk}, height
    )


class FacePhotoForm(forms.ModelForm):
    """An enrolment photo added in the admin: stored by add_enrolment_photo like any other, so it
    is checked, named by its format and de-duplicated the same way. A stored photo's file is not
    replaced in place (its embedding would describe another face): delete it and add another."""

    # A plain file field, not an ImageField: Django's own image check would answer first with a
    # generic "Upload a valid image", and check_photo_upload says what to do (convert a HEIC
    # photo, resize a huge one, choose an empty file again).
    image = forms.FileField(widget=AdminFileWidget, allow_empty_file=True)
    added_by = None  # the admin who adds the photo: set per request by photo_form_for

    class Meta:
        model = FacePhoto
        fields = ["image"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["image"].disabled = True

    def clean_image(self):
        image = self.cleaned_data["image"]
        if isinstance(image, UploadedFile):
            try:
                check_photo_upload(image, image.size)
            except ImageRejected as error:
                raise forms.ValidationError(str(error)) from error
        return image

    def save(self, commit=True):
        if self.instance.pk:
            return super().save(commit)
        image = self.cleaned_data["image"]
        image.seek(0)
        # Saved already, whatever commit says; the admin saving it once more changes nothing.
        self.instance, _new = add_enrolment_photo(
            self.instance.student, image.read(), source=FacePhoto.ADMIN, added_by=self.added_by
        )
        if not commit:
            self.save_m2m = self._save_m2m
        return self.instance


def photo_form_for(user):
    """The photo form of one request, which records who added the photos."""
    return type("FacePhotoForm", (FacePhotoForm,), {"added_by": user})


class FacePhotoInline(admin.TabularInline):
    model = FacePhoto
    fk_name = "student"
    form = FacePhotoForm
    extra = 3
    fields = ["image", "preview", "photo_status", "reason", "source", "added_by"]
    readonly_fields = ["preview", "photo_status", "reason", "source", "added_by"]

    def get_formset(self, request, obj=None, **kwargs):
        return super().get_formset(request, obj, **{**kwargs, "form": photo_form_for(request.user)})

    class Media:
        # Updates a pending photo's status and reason in place as the worker decides.
        js = ["photo_status.js"]

    # An empty row for a new photo has no status yet: it shows nothing, not the default "Pending".
    @admin.display(description=_("Status"))
    def photo_status(self, photo):
        if not photo.pk:
            return ""
        return format_html(
            '<span class="photo-status" data-photo="{}" data-status="{}" data-url="{}">{}</span>',
            photo.pk,
            photo.status,
            reverse("enrolment_photo_statuses", args=[photo.student_id]),
            photo.get_status_display(),
        )

    @admin.display(description=_("Preview"))
    def preview(self, photo):
        return photo_thumbnail(photo) if photo.pk else ""

    @admin.display(description=_("Why"))
    def reason(self, photo):
        if not photo.pk:
            return ""
        return format_html(
            '<span class="photo-reason" data-photo="{}">{}</span>',
            photo.pk,
            photo.hold_reason or photo.rejection_reason,
        )


# The student's admin page (students/admin.py), with their enrolment photos: students knows
# nothing of photos, so recognition registers the page again with them.
admin.site.unregister(Student)


@admin.register(Student)
class StudentWithPhotosAdmin(StudentAdmin):
    list_display = [*StudentAdmin.list_display, "photo_count"]
    inlines = [*StudentAdmin.inlines, FacePhotoInline]

    @admin.display(description=_("Photos"))
    def photo_count(self, student):
        return student.face_photos.count()


PHOTO_RECORD_FIELDS = [
    "content_sha256",
    "status",
    "rejection_reason",
    "source",
    "added_by",
    "hold_reason",
    "own_distance",
    "lookalike",
    "lookalike_distance",
    "reviewed_by",
    "reviewed_at",
]


@admin.register(FacePhoto)
class FacePhotoAdmin(admin.ModelAdmin):
    form = FacePhotoForm
    fields = ["student", "image", *PHOTO_RECORD_FIELDS]
    list_display = ["student", "status", "source", "added_by", "rejection_reason", "created_at"]
    list_filter = ["status", "source"]
    search_fields = ["student__full_name", "student__student_number"]
    readonly_fields = PHOTO_RECORD_FIELDS

    def get_form(self, request, obj=None, **kwargs):
        return super().get_form(request, obj, **{**kwargs, "form": photo_form_for(request.user)})


@admin.register(HeldFacePhoto)
class HeldFacePhotoAdmin(ReadOnlyAdmin):
    """The review queue: each held photo beside the student's accepted ones, with why it waits.
    Approving or refusing is recorded on the photo (who, when)."""

    list_display = [
        "student",
        "new_photo",
        "accepted_photos",
        "distance",
        "hold_reason",
        "source",
        "added_by",
        "created_at",
    ]
    list_display_links = None
    list_filter = ["source"]
    search_fields = ["student__full_name", "student__student_number"]
    actions = ["approve", "refuse"]

    def get_queryset(self, request):
        accepted = FacePhoto.objects.filter(status=FacePhoto.ACCEPTED).order_by("created_at")
        return (
            super()
            .get_queryset(request)
            .filter(status=FacePhoto.HELD)
            .select_related("student", "added_by")
            .prefetch_related(Prefetch("student__face_photos", queryset=accepted, to_attr="accepted"))
        )

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description=_("New photo"))
    def new_photo(self, photo):
        return photo_thumbnail(photo)

    @admin.display(description=_("The student's accepted photos"))
    def accepted_photos(self, photo):
        if not photo.student.accepted:
            return _("None yet")
        return format_html_join(" ", "{}", ((photo_thumbnail(accepted, 64),) for accepted in photo.student.accepted))

    @admin.display(description=_("Distance to them"))
    def distance(self, photo):
        return "–" if photo.own_distance is None else f"{photo.own_distance:.2f}"

    @admin.action(description=_("Approve: use the selected photos to recognise their students"))
    def approve(self, request, queryset):
        approved = approve_held_photos(queryset, request.user)
        self.message_user(
            request,
            ngettext(
                "Approved %(count)d photo: it is now used to recognise its student.",
                "Approved %(count)d photos: they are now used to recognise their students.",
                approved,
            )
            % {"count": approved},
        )

    @admin.action(description=_("Refuse: never use the selected photos"))
    def refuse(self, request, queryset):
        refused = refuse_held_photos(queryset, request.user)
        self.message_user(
            request,
            ngettext(
                "Refused %(count)d photo: it will never be used.",
                "Refused %(count)d photos: they will never be used.",
                refused,
            )
            % {"count": refused},
        )


class DetectedFaceInline(admin.TabularInline):
    model = DetectedFace
    extra = 0
    fields = [
        "x1",
        "y1",
        "x2",
        "y2",
        "score",
        "decision",
        "reason",
        "student",
        "match_distance",
        "suggested_student",
        "suggested_match_distance",
        "decided_by",
    ]
    # A person changes only whom the face is; everything else is what the worker found.
    readonly_fields = [field for field in fields if field != "student"]

    @admin.display(description=_("Distance"))
    def match_distance(self, face):
        return distance_shown(face.distance)

    @admin.display(description=_("Suggestion's distance"))
    def suggested_match_distance(self, face):
        return distance_shown(face.suggested_distance)


@admin.register(Capture)
class CaptureAdmin(AdminPermissions, admin.ModelAdmin):
    list_display = ["__str__", "session", "source", "status", "face_count", "processing_time", "created_at"]
    list_filter = ["status", "source", "session__course"]
    # A capture's photo comes in only through create_capture, which checks it.
    readonly_fields = [
        "image",
        "status",
        "error",
        "attempts",
        "embedder",
        "face_count",
        "width",
        "height",
        "started_at",
        "finished_at",
        "detect_ms",
        "embed_ms",
        "match_ms",
        "total_ms",
    ]
    inlines = [DetectedFaceInline]
    adds = False

    @admin.display(description=_("Processing time"), ordering="total_ms")
    def processing_time(self, capture):
        return "" if capture.total_ms is None else f"{capture.total_ms / 1000:.1f} s"


@admin.register(FaceCorrection)
class FaceCorrectionAdmin(ReadOnlyAdmin):
    """The corrections' audit trail: read only, as an audit trail is."""

    list_display = ["made_at", "session", "capture_number", "action", "student", "made_by", "note"]
    list_filter = ["action", "session__course"]


@admin.register(FaceKeyRotation)
class FaceKeyRotationAdmin(ReadOnlyAdmin):
    """The runs of seal_face_data and rotate_face_key (docs/production.md): a record, read only."""

    list_display = ["started_at", "kind", "key_id", "resealed", "finished_at"]
    list_filter = ["kind"]


def age(delta):
    """A duration as a person reads it at a glance: 45 s, 12 min, 3 h 05 min."""
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(AdminPermissions, admin.ModelAdmin):
    """Whether recognition runs: each worker's last heartbeat, and the captures waiting for one.
    Written by the workers only; a worker that is gone for good can be deleted here."""

    list_display = ["hostname", "state", "last_beat_ago", "last_beat_at", "started_at", "stopped_at"]
    adds = changes = False

    @admin.display(description=_("State"))
    def state(self, heartbeat):
        return _("running") if worker_is_running(heartbeat, timezone.now()) else _("stopped")

    @admin.display(description=_("Last heartbeat"), ordering="last_beat_at")
    def last_beat_ago(self, heartbeat):
        return _("%(age)s ago") % {"age": age(timezone.now() - heartbeat.last_beat_at)}

    def changelist_view(self, request, extra_context=None):
        queue = queue_summary(timezone.now())
        oldest = queue["oldest_queued_age"]
        context = {
            **(extra_context or {}),
            "queue": queue,
            "oldest_queued_age": age(oldest) if oldest is not None else None,
            "stopped_after": age(timedelta(seconds=settings.WORKER_HEARTBEAT_SECONDS * WORKER_STOPPED_AFTER_BEATS)),
        }
        return super().changelist_view(request, context)


@admin.register(RetentionSweep)
class RecordsOfProcessingAdmin(ReadOnlyAdmin):
    """For the data protection officer: what face data is stored, how much, for how long, and
    when the retention sweeps last ran (recognition/records.py); the sweeps themselves below."""

    list_display = ["name", "ran_at", "result"]

    def changelist_view(self, request, extra_context=None):
        context = {
            **(extra_context or {}),
            **records_of_processing(),
        }
        return super().changelist_view(request, context)
