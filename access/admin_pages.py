"""The admin's permissions, said one way on every page.

/admin/ is for school admins alone (students/login.py RollCallAdminSite.has_permission; the
role holds every model permission, roles.SchoolAdminBackend). Each page then says what even a
school admin may not do with its records, with the flags of AdminPermissions: what the system
writes is shown but not added (adds = False), an audit trail is neither changed nor deleted
(ReadOnlyAdmin). A page of our own inside the admin (an import, an invitation) is routed by
admin_pages(), behind the admin's login, and its view checks the role too
(roles.require_school_admin), as every action only a school admin may take does.
"""

from functools import partial

from django.contrib import admin
from django.urls import path


class AdminPermissions:
    """Flags for a ModelAdmin or an inline: False takes the permission away from everyone."""

    adds = changes = deletes = True

    def has_add_permission(self, request, *args):
        return self.adds and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return self.changes and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.deletes and super().has_delete_permission(request, obj)


class ReadOnlyAdmin(AdminPermissions, admin.ModelAdmin):
    """An admin page that only shows records (a review queue, an audit trail, sent notices):
    nobody adds, edits or deletes them there."""

    adds = changes = deletes = False


def admin_pages(model_admin, *pages):
    """URL patterns for pages of our own in a model's admin: (route, view, name) each, the view
    called with the admin site as `admin_site`, behind the admin's login."""
    site = model_admin.admin_site
    return [path(route, site.admin_view(partial(view, admin_site=site)), name=name) for route, view, name in pages]
