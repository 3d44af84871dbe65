from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .devices import issue_token
from .models import DeviceToken


@admin.register(DeviceToken)
class DeviceTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "course", "room", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["course", "room"]
    search_fields = ["name", "room__name"]
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
            _("Token for %(device)s: %(token)s — copy it into the camera now; it will not be shown again.")
            % {"device": device.name, "token": token},
            messages.WARNING,
        )

    @admin.action(description=_("Revoke the selected device tokens"))
    def revoke(self, request, queryset):
        revoked = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(
            request,
            ngettext("Revoked %(count)d device token.", "Revoked %(count)d device tokens.", revoked)
            % {"count": revoked},
        )
