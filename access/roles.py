"""Who is who: the roles a login has.

- a school admin is an active user with staff status who is a superuser or in the Admin group.
  Staff status alone is nothing: Django's admin needs it to log anyone in, the group (or
  superuser) says who is an admin. A school admin reaches everything, on the pages and in /admin/;
- a teacher is a user in the Teacher group, and reaches the courses that list them among their
  teachers: being listed without the group, or in the group without being listed, reaches nothing;
- a student is a login linked to a Student record, and reads only that student's attendance.

The groups come from students/migrations/0002_role_groups.py. What each role reaches, object by
object, is said by the scoped querysets of each app (students/permissions.py,
recognition/permissions.py); a classroom camera's reach is its device token's (devices.py).
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend
from django.core.exceptions import PermissionDenied

ADMIN_GROUP = "Admin"
TEACHER_GROUP = "Teacher"


def in_group(user, name):
    return user.groups.filter(name=name).exists()


def is_school_admin(user):
    # is_staff is checked first: it costs no query, and without it nobody is an admin.
    return user.is_active and user.is_staff and (user.is_superuser or in_group(user, ADMIN_GROUP))


def is_teacher(user):
    return user.is_active and in_group(user, TEACHER_GROUP)


def student_of(user):
    """The Student record a login belongs to, or None."""
    if not user.is_authenticated:
        return None
    return getattr(user, "student", None)


def require_school_admin(user, what="Only a school admin may do this."):
    """For what only a school admin does, wherever it is asked for (an admin page, an action):
    PermissionDenied with `what` for anyone else."""
    if not is_school_admin(user):
        raise PermissionDenied(what)


def teacher_logins():
    """The logins a course's teachers are chosen from: the active members of the Teacher group."""
    teachers = get_user_model().objects.filter(is_active=True, groups__name=TEACHER_GROUP)
    return teachers.order_by("first_name", "last_name", "username")


class SchoolAdminBackend(BaseBackend):
    """Gives a school admin every permission in /admin/, as a superuser has: the Admin group holds
    no model permissions of its own, the role is the permission. Logs nobody in."""

    def has_perm(self, user_obj, perm, obj=None):
        return is_school_admin(user_obj)

    def has_module_perms(self, user_obj, app_label):
        return is_school_admin(user_obj)


def school_admin_link(request):
    """A context processor: whether the page shows the link to /admin/."""
    return {"is_school_admin": is_school_admin(request.user)}
