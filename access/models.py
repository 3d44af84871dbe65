from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DeviceToken(models.Model):
    """A classroom camera's credential, bound to one of the school's rooms, one course, or both.

    Only the sha256 of the token is stored: the token itself is shown once, when it is created.
    """

    name = models.CharField(
        max_length=100, help_text=_("Which device this is, e.g. 'Room 12 camera'."), verbose_name=_("name")
    )
    course = models.ForeignKey(
        "students.Course",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="device_tokens",
        help_text=_("The device may send captures to this course's sessions."),
        verbose_name=_("course"),
    )
    room = models.ForeignKey(
        "students.Room",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="device_tokens",
        help_text=_("The device may send captures to sessions held in this room."),
        verbose_name=_("room"),
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False, verbose_name=_("token hash"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))
    last_used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last used at"))

    class Meta:
        verbose_name = _("device token")
        verbose_name_plural = _("device tokens")
        # The table keeps the name it had when recognition held the model: moving its Python home
        # is no reason to rename the table that holds the cameras' credentials.
        db_table = "recognition_devicetoken"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(course__isnull=False) | models.Q(room__isnull=False), name="device_token_has_a_scope"
            )
        ]

    def __str__(self):
        return self.name

    @property
    def is_active(self):
        return self.revoked_at is None


class LanguagePreference(models.Model):
    """The language a login chose with the chooser: every page it is shown in that language,
    whatever its browser asks (access/languages.py). Kept with the login, not with a student or
    a teacher, because school admins choose one too and have neither record."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="language_preference", verbose_name=_("user")
    )
    language = models.CharField(_("language"), max_length=16, choices=settings.LANGUAGES)

    class Meta:
        verbose_name_plural = _("language preferences")
        verbose_name = _("language preference")

    def __str__(self):
        return self.get_language_display()
