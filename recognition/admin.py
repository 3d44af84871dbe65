from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminFileWidget
from django.core.files.uploadedfile import UploadedFile
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from .authentication import issue_token
from .enrolment import add_enrolment_photo
from .models import Capture, DetectedFace, DeviceToken, FacePhoto
from .uploads import ImageRejected, check_photo_upload


def distance_shown(distance):
    """A match distance as people read it: three decimals are all that tell faces apart."""
    return "" if distance is None else f"{distance:.3f}"


def thumbnail(url, alt):
    return format_html('<img src="{}" alt="{}" height="96">', url, alt)


class FacePhotoForm(forms.ModelForm):
    """An enrolment photo added in the admin: stored by add_enrolment_photo like any other, so it
    is checked, named by its format and de-duplicated the same way. A stored photo's file is not
    replaced in place (its embedding would describe another face): delete it and add another."""

    # A plain file field, not an ImageField: Django's own image check would answer first with a
    # generic "Upload a valid image", and check_photo_upload says what to do (convert a HEIC
    # photo, resize a huge one, choose an empty file again).
    image = forms.FileField(widget=AdminFileWidget, allow_empty_file=True)

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
                raise forms.ValidationError(str(error))
        return image

    def save(self, commit=True):
        if self.instance.pk:
            return super().save(commit)
        image = self.cleaned_data["image"]
        image.seek(0)
        # Saved already, whatever commit says; the admin saving it once more changes nothing.
        self.instance, _ = add_enrolment_photo(self.instance.student, image.read())
        if not commit:
            self.save_m2m = self._save_m2m
        return self.instance


class FacePhotoInline(admin.TabularInline):
    model = FacePhoto
    form = FacePhotoForm
    extra = 3
    fields = ["image", "preview", "photo_status", "photo_rejection_reason"]
    readonly_fields = ["preview", "photo_status", "photo_rejection_reason"]

    # An empty row for a new photo has no status yet: it shows nothing, not the default "Pending".
    @admin.display(description="Status")
    def photo_status(self, photo):
        return photo.get_status_display() if photo.pk else ""

    @admin.display(description="Rejection reason")
    def photo_rejection_reason(self, photo):
        return photo.rejection_reason if photo.pk else ""

    @admin.display(description="Preview")
    def preview(self, photo):
        if not photo.pk:
            return ""
        return thumbnail(reverse("face_photo_image", args=[photo.pk]), f"Enrolment photo {photo.pk}")


@admin.register(FacePhoto)
class FacePhotoAdmin(admin.ModelAdmin):
    form = FacePhotoForm
    fields = ["student", "image", "content_sha256", "status", "rejection_reason"]
    list_display = ["student", "status", "rejection_reason", "created_at"]
    list_filter = ["status"]
    search_fields = ["student__full_name", "student__student_number"]
    readonly_fields = ["content_sha256", "status", "rejection_reason"]


class DetectedFaceInline(admin.TabularInline):
    model = DetectedFace
    extra = 0
    fields = ["x1", "y1", "x2", "y2", "score", "student", "match_distance", "decided_by"]
    readonly_fields = ["x1", "y1", "x2", "y2", "score", "match_distance", "decided_by"]

    @admin.display(description="Distance")
    def match_distance(self, face):
        return distance_shown(face.distance)


@admin.register(Capture)
class CaptureAdmin(admin.ModelAdmin):
    list_display = ["__str__", "session", "source", "status", "face_count", "total_ms", "created_at"]
    list_filter = ["status", "source", "session__course"]
    # A capture's photo comes in only through create_capture, which checks it.
    readonly_fields = [
        "image", "status", "error", "attempts", "embedder", "face_count", "width", "height",
        "started_at", "finished_at", "detect_ms", "embed_ms", "match_ms", "total_ms",
    ]
    inlines = [DetectedFaceInline]

    def has_add_permission(self, request):
        return False


@admin.register(DeviceToken)
class DeviceTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "course", "room", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["course"]
    search_fields = ["name", "room"]
    fields = ["name", "course", "room", "created_by", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["created_by", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def save_model(self, request, device, form, change):
        if change:
            return super().save_model(request, device, form, change)
        token = issue_token(device)
        device.created_by = request.user
        super().save_model(request, device, form, change)
        # Only the hash is kept: this message is the one time anybody sees the token.
        self.message_user(
            request,
            f"Token for {device.name}: {token} — copy it into the camera now; it will not be shown again.",
            messages.WARNING,
        )

    @admin.action(description="Revoke the selected device tokens")
    def revoke(self, request, queryset):
        revoked = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {revoked} device token(s).")
