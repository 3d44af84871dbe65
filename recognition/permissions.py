"""What each caller may reach among recognition's objects (captures, their faces, enrolment
photos), built on the people app's reach (students/permissions.py), the same way: every page,
API view and file view fetches through these querysets, so what is out of reach is a 404."""

from django.utils.translation import gettext_lazy as _

from access.devices import reach_of
from attendance_site.errors import NotYours
from students.permissions import in_reach, sessions_for_device, sessions_managed_by, students_taught_by

from .models import Capture, DetectedFace, FacePhoto
from .queries import with_faces


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
    return reach_of(request, captures_for_device, captures_managed_by)


def managed_capture(request, pk):
    return in_reach(
        captures_managed_by(request.user).select_related("session"),
        pk,
        _("You don't teach this photo's course, or the photo does not exist."),
    )


def capture_for_caller(request, pk):
    """The capture with its faces, for the API that shows them."""
    return in_reach(
        with_faces(captures_for_caller(request)), pk, _("This photo is not within your reach, or it does not exist.")
    )


def managed_face(request, pk):
    return in_reach(faces_managed_by(request.user), pk, _("You don't teach this face's course, or it does not exist."))


def managed_faces(request, pk, also):
    """The face pk and the other faces of the same person (the ids in also), out of the faces
    the caller may correct: a 404 for any of them out of reach."""
    reachable = faces_managed_by(request.user).select_related(
        "capture__session__course", "student", "suggested_student"
    )
    face = in_reach(reachable, pk, _("You don't teach this face's course, or it does not exist."))
    ids = {int(value) for value in also if str(value).isdigit()} - {face.pk}
    others = list(reachable.filter(pk__in=ids))
    if len(others) != len(ids):
        raise NotYours(_("One of these faces is not of your courses, or does not exist."))
    return [face] + others


def visible_photo(request, pk):
    return in_reach(
        face_photos_visible_to(request.user), pk, _("This photo does not exist, or it is not yours to see.")
    )
