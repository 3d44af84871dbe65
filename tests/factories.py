"""Small builders for test data: real rows in the real database, nothing mocked."""

from datetime import timedelta

from django.contrib.auth.models import Group, User
from django.utils import timezone

from students.models import ClassSession, Course, Room, Student


def make_user(username, role=None, **fields):
    """A login; role names its group (Admin, Teacher, Student), which students/permissions.py reads.
    The group is made when missing: a transactional test's flush removes the migration's groups."""
    user = User.objects.create_user(username=username, password="pw-" + username, **fields)
    if role:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def make_course(code="MATH1", teacher=None, students=()):
    course = Course.objects.create(code=code, name=f"Course {code}")
    if teacher:
        course.teachers.add(teacher)
    course.students.add(*students)
    return course


def make_student(number, name=None, user=None):
    return Student.objects.create(student_number=number, full_name=name or f"Student {number}", user=user)


def make_room(name):
    """The school's room of that name (compared without case), made when missing."""
    return Room.objects.filter(name__iexact=name).first() or Room.objects.create(name=name)


def make_session(course, starts_at=None, minutes=60, late_after_minutes=10, room=None):
    starts_at = starts_at or timezone.now().replace(microsecond=0) - timedelta(minutes=5)
    return ClassSession.objects.create(
        course=course,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        late_after_minutes=late_after_minutes,
        room=make_room(room) if isinstance(room, str) else room,
    )
