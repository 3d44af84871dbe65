"""Who may see and change what. Every page, API view and media view asks these.

Three kinds of caller: a school admin (staff) sees everything, a teacher the courses they teach,
a student only their own records; a classroom camera (a DeviceToken) only the sessions of its
room or course. Anything outside that is answered 404, so nobody learns what exists.
"""
from recognition.models import FacePhoto

from .models import ClassSession, Course, Student


def is_school_admin(user):
    return user.is_authenticated and (user.is_superuser or user.is_staff)


def is_teacher(user):
    return user.is_authenticated and user.groups.filter(name="Teacher").exists()


def student_of(user):
    """The Student record a login belongs to, or None."""
    if not user.is_authenticated:
        return None
    return getattr(user, "student", None)


def courses_managed_by(user):
    if is_school_admin(user):
        return Course.objects.all()
    if not user.is_authenticated:
        return Course.objects.none()
    return Course.objects.filter(teachers=user)


def can_manage_course(user, course):
    return courses_managed_by(user).filter(pk=course.pk).exists()


def sessions_managed_by(user):
    return ClassSession.objects.filter(course__in=courses_managed_by(user))


def sessions_for_device(device):
    """A device scoped to a course sends to that course's sessions, one scoped to a room to the
    sessions held in that room; a device given both is held to both."""
    if not device.is_active:
        return ClassSession.objects.none()
    sessions = ClassSession.objects.all()
    if device.course_id:
        sessions = sessions.filter(course_id=device.course_id)
    if device.room:
        sessions = sessions.filter(room__iexact=device.room)
    return sessions


def courses_for_device(device):
    return Course.objects.filter(sessions__in=sessions_for_device(device)).distinct()


def students_taught_by(user):
    """The students of the courses a user manages; a school admin's are all students."""
    if is_school_admin(user):
        return Student.objects.all()
    return Student.objects.filter(courses__in=courses_managed_by(user)).distinct()


def face_photos_visible_to(user):
    """Enrolment photos a user may see: those of the students they teach (all, for a school
    admin). A student sees none, not even their own: they are biometric data kept for staff."""
    return FacePhoto.objects.filter(student__in=students_taught_by(user))
