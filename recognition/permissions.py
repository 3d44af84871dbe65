"""What each caller may reach among recognition's objects (captures, their faces, enrolment
photos), built on the people app's reach (students/permissions.py), the same way: every page,
API view and file view fetches through these querysets, so what is out of reach is a 404."""

from access.devices import device_of
from students.permissions import sessions_for_device, sessions_managed_by, students_taught_by

from .models import Capture, DetectedFace, FacePhoto


def captures_managed_by(user):
    return Capture.objects.filter(session__in=sessions_managed_by(user))


def faces_managed_by(user):
    return DetectedFace.objects.filter(capture__in=captures_managed_by(user))


def face_photos_visible_to(user):
    """Enrolment photos a user may see: those of the students they teach (all, for a school
    admin). A student sees none, not even their own: they are biometric data kept for staff."""
    return FacePhoto.objects.filter(student__in=students_taught_by(user))


def captures_for_device(device):
    """Only the captures it sent itself: a room's camera must not read who was recognised in
    the photos others took there."""
    return Capture.objects.filter(session__in=sessions_for_device(device), device=device)


def captures_for_caller(request):
    device = device_of(request)
    return captures_for_device(device) if device else captures_managed_by(request.user)
