"""Who may see and change what: the roles, and for every kind of object the queryset of those a
caller may reach. Pages, the API and the file views all fetch through these querysets
(`get_object_or_404(faces_managed_by(user), pk=pk)`), so whatever is out of reach is answered
404 and nobody learns what exists.

The roles (the groups come from students/migrations/0002_role_groups.py):
- a school admin is an active user with staff status who is a superuser or in the Admin group.
  Staff status alone is nothing: Django's admin needs it to log anyone in, the group (or
  superuser) says who is an admin. A school admin reaches everything, on the pages and in /admin/;
- a teacher is a user in the Teacher group, and reaches the courses that list them among their
  teachers: being listed without the group, or in the group without being listed, reaches nothing;
- a student is a login linked to a Student record, and reads only that student's attendance;
- a classroom camera (a DeviceToken) reaches the sessions of its room or course, and reads back
  only the captures it sent.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend

from attendance_site.errors import NotYours
from recognition.authentication import device_of
from recognition.models import Capture, DetectedFace, FacePhoto

from .models import ADMIN_GROUP, TEACHER_GROUP, ClassSession, Course, Student


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


# --- A person's reach -------------------------------------------------------------------------


def in_reach(queryset, pk, not_yours):
    """The object of the queryset (one of those a caller may reach) with this pk, or NotYours
    with the message `not_yours`, the same whether it exists or not."""
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise NotYours(not_yours)
    return found


def courses_managed_by(user):
    if is_school_admin(user):
        return Course.objects.all()
    if is_teacher(user):
        return Course.objects.filter(teachers=user)
    return Course.objects.none()


def sessions_managed_by(user):
    return ClassSession.objects.filter(course__in=courses_managed_by(user))


def captures_managed_by(user):
    return Capture.objects.filter(session__in=sessions_managed_by(user))


def faces_managed_by(user):
    return DetectedFace.objects.filter(capture__in=captures_managed_by(user))


def students_taught_by(user):
    """The students of the courses a user manages; a school admin's are all students."""
    if is_school_admin(user):
        return Student.objects.all()
    return Student.objects.filter(courses__in=courses_managed_by(user)).distinct()


def face_photos_visible_to(user):
    """Enrolment photos a user may see: those of the students they teach (all, for a school
    admin). A student sees none, not even their own: they are biometric data kept for staff."""
    return FacePhoto.objects.filter(student__in=students_taught_by(user))


def students_enrollable_by(user):
    return Student.objects.all() if is_school_admin(user) else Student.objects.none()


# --- A classroom camera's reach ---------------------------------------------------------------


def sessions_for_device(device):
    """A device bound to a course sends to that course's sessions, one bound to a room to the
    sessions held in that room; a device given both is held to both."""
    if not device.is_active:
        return ClassSession.objects.none()
    sessions = ClassSession.objects.all()
    if device.course_id:
        sessions = sessions.filter(course_id=device.course_id)
    if device.room_id:
        sessions = sessions.filter(room_id=device.room_id)
    return sessions


def courses_for_device(device):
    return Course.objects.filter(sessions__in=sessions_for_device(device)).distinct()


def captures_for_device(device):
    """Only the captures it sent itself: a room's camera must not read who was recognised in
    the photos others took there."""
    return Capture.objects.filter(session__in=sessions_for_device(device), device=device)


# --- An API request's reach: the device's when a token came, else the person's --------------


def courses_for_caller(request):
    device = device_of(request)
    return courses_for_device(device) if device else courses_managed_by(request.user)


def sessions_for_caller(request):
    device = device_of(request)
    return sessions_for_device(device) if device else sessions_managed_by(request.user)


def captures_for_caller(request):
    device = device_of(request)
    return captures_for_device(device) if device else captures_managed_by(request.user)


# --- Whom a picker offers ---------------------------------------------------------------------


def teacher_logins():
    """The logins a course's teachers are chosen from: the active members of the Teacher group."""
    teachers = get_user_model().objects.filter(is_active=True, groups__name=TEACHER_GROUP)
    return teachers.order_by("first_name", "last_name", "username")
