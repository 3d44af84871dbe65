"""What each caller may reach among the people app's objects: for every kind, the queryset of
those a caller may reach. Pages, the API and the file views all fetch through these querysets
(recognition/permissions.py builds its own on them), so whatever is out of reach is answered 404
and nobody learns what exists. Who is who (the roles) is access/roles.py's; how a camera logs in,
access/devices.py's.

- a school admin reaches everything; a teacher the courses that list them among their teachers;
  a student only their own attendance (access/roles.py says who is which);
- a classroom camera (a DeviceToken) reaches the sessions of its room or course.
"""

from django.utils.translation import gettext_lazy as _

from access.devices import reach_of
from access.roles import is_school_admin, is_teacher
from attendance_site.errors import NotYours

from .models import ClassSession, Course, Student


def in_reach(queryset, pk, not_yours):
    """The object of the queryset (one of those a caller may reach) with this pk, or NotYours
    with the message `not_yours`, the same whether it exists or not. Views and the API fetch
    through the helpers below (and recognition/permissions.py's), which name what they fetch."""
    found = queryset.filter(pk=pk).first() if str(pk).isdigit() else None
    if found is None:
        raise NotYours(not_yours)
    return found


def managed_course(request, pk):
    return in_reach(courses_managed_by(request.user), pk, _("You don't teach this course, or it does not exist."))


def managed_session(request, pk):
    return in_reach(
        sessions_managed_by(request.user).select_related("course"),
        pk,
        _("You don't teach this session's course, or the session does not exist."),
    )


def enrolled_student(course, pk):
    return in_reach(course.students.all(), pk, _("This student is not enrolled in the course, or does not exist."))


def taught_student(request, pk):
    return in_reach(students_taught_by(request.user), pk, _("You don't teach this student, or they do not exist."))


def enrollable_student(request, pk):
    return in_reach(
        students_enrollable_by(request.user),
        pk,
        _("Only a school admin enrols students, or the student does not exist."),
    )


def course_for_caller(request, pk):
    return in_reach(courses_for_caller(request), pk, _("This course is not within your reach, or it does not exist."))


def session_for_caller(request, pk):
    return in_reach(sessions_for_caller(request), pk, _("This session is not within your reach, or it does not exist."))


# --- A person's reach -------------------------------------------------------------------------


def courses_managed_by(user):
    if is_school_admin(user):
        return Course.objects.all()
    if is_teacher(user):
        return Course.objects.filter(teachers=user)
    return Course.objects.none()


def sessions_managed_by(user):
    return ClassSession.objects.filter(course__in=courses_managed_by(user))


def students_taught_by(user):
    """The students of the courses a user manages; a school admin's are all students."""
    if is_school_admin(user):
        return Student.objects.all()
    return Student.objects.filter(courses__in=courses_managed_by(user)).distinct()


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


# --- An API request's reach: the device's when a token came, else the person's --------------


def courses_for_caller(request):
    return reach_of(request, courses_for_device, courses_managed_by)


def sessions_for_caller(request):
    return reach_of(request, sessions_for_device, sessions_managed_by)
