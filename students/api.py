"""The REST API about courses, sessions and attendance. Teachers use it with their login
session, classroom cameras with a device token (access/devices.py), which only read courses and
sessions; a student only reads their own records at /api/me/attendance/."""

from csp.decorators import csp_update
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from access.devices import persons_and_devices
from access.roles import student_of

from .attendance import set_status
from .models import ClassSession
from .overview import course_summaries, roster, student_status
from .permissions import course_for_caller, courses_for_caller, enrolled_student, managed_session, sessions_for_caller
from .serializers import (
    ClassSessionSerializer,
    CourseSerializer,
    MyCourseAttendanceSerializer,
    RosterEntrySerializer,
    StatusChangeSerializer,
)
from .vocabulary import status_word

# Classroom cameras read the courses and sessions they may send captures to, nothing more.
DEVICES_READ = persons_and_devices("GET", refusal=_("Device tokens may only read sessions and send captures."))


@extend_schema(responses=CourseSerializer(many=True))
@api_view(["GET"])
@permission_classes([DEVICES_READ])
def course_list(request):
    """The courses you teach; for a device, the courses it may send captures to."""
    return Response(CourseSerializer(courses_for_caller(request), many=True).data)


@extend_schema(methods=["GET"], responses=ClassSessionSerializer(many=True))
@extend_schema(methods=["POST"], request=ClassSessionSerializer, responses={201: ClassSessionSerializer})
@api_view(["GET", "POST"])
@permission_classes([DEVICES_READ])
def course_sessions(request, pk):
    """A course's sessions (GET), or a new session (POST, teachers only)."""
    course = course_for_caller(request, pk)
    if request.method == "GET":
        sessions = sessions_for_caller(request).filter(course=course).order_by("starts_at")
        return Response(ClassSessionSerializer(sessions, many=True).data)
    serializer = ClassSessionSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    serializer.save(course=course)
    return Response(serializer.data, status=status.HTTP_201_CREATED)


def roster_entries(session):
    session = ClassSession.objects.with_taken().get(pk=session.pk)
    return [
        {"student": student, "record": record, "status_text": status_word(student_status(session, record, True))}
        for student, record in roster(session)
    ]


@extend_schema(responses=RosterEntrySerializer(many=True))
@api_view(["GET"])
def session_attendance(request, pk):
    """Every enrolled student of the session with their status (null: not seen yet)."""
    session = managed_session(request, pk)
    return Response(RosterEntrySerializer(roster_entries(session), many=True).data)


@extend_schema(request=StatusChangeSerializer, responses=RosterEntrySerializer)
@api_view(["PATCH"])
def session_attendance_record(request, pk, student_pk):
    """Set one student's status in a session, with an optional reason for the audit trail."""
    session = managed_session(request, pk)
    student = enrolled_student(session.course, student_pk)
    change = StatusChangeSerializer(data=request.data)
    change.is_valid(raise_exception=True)
    record = set_status(
        session, student, change.validated_data["status"], request.user, change.validated_data["reason"]
    )
    entry = {"student": student, "record": record, "status_text": status_word(record.status)}
    return Response(RosterEntrySerializer(entry).data)


@extend_schema(responses=MyCourseAttendanceSerializer(many=True))
@api_view(["GET"])
def my_attendance(request):
    """For a student: per course the attendance percentage and every session so far."""
    student = student_of(request.user)
    if student is None:
        raise Http404(_("This login is not linked to a student."))
    return Response(MyCourseAttendanceSerializer(course_summaries(student), many=True).data)


# The API reference: Swagger UI from our own static files (drf-spectacular-sidecar). The split
# view serves its start-up script as a file of its own, so the page needs no inline script. Its
# stylesheet draws its icons as data: SVG images, which the site's img-src 'self' blocks: this
# page alone also allows data: images (an image cannot run script).
api_docs = csp_update({"img-src": ["data:"]})(
    login_required(SpectacularSwaggerSplitView.as_view(url_name="api_schema", template_name="api_docs.html"))
)
