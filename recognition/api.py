"""Captures over the REST API: the session page, scripts and classroom cameras send photos
here and poll each capture until the worker has done with it."""
from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.exceptions import Throttled
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from attendance_site.ratelimit import over_limit
from students.api import sessions_for_caller

from .authentication import IsPersonOrDevice, device_of
from .captures import ImageRejected, TakenAtRefused, create_capture
from .models import Capture
from .serializers import CaptureSerializer, CaptureUploadSerializer

# A session page shows and polls the latest captures; older ones stay in the admin.
CAPTURES_LISTED = 20


def captures_for_caller(request):
    """A teacher's sessions' captures; for a device only those it sent itself: a room's camera
    must not read who was recognised in the photos others took there."""
    captures = Capture.objects.filter(session__in=sessions_for_caller(request))
    device = device_of(request)
    return captures.filter(device=device) if device else captures


def with_faces(captures):
    return captures.prefetch_related("faces__student", "faces__suggested_student")


@extend_schema(methods=["GET"], responses=CaptureSerializer(many=True))
@extend_schema(methods=["POST"], request={"multipart/form-data": CaptureUploadSerializer}, responses={202: CaptureSerializer})
@api_view(["GET", "POST"])
@permission_classes([IsPersonOrDevice])
@parser_classes([MultiPartParser, FormParser])
def session_captures(request, pk):
    """The session's latest captures (GET), or a new class photo or camera snapshot (POST,
    multipart field `image`): answered 202 at once, recognition runs in the background."""
    session = get_object_or_404(sessions_for_caller(request), pk=pk)
    if request.method == "GET":
        captures = captures_for_caller(request).filter(session=session).order_by("-created_at")
        captures = with_faces(captures)[:CAPTURES_LISTED]
        return Response(CaptureSerializer(captures, many=True, context={"request": request}).data)
    device = device_of(request)
    uploader = f"device:{device.pk}" if device else f"user:{request.user.pk}"
    if over_limit("upload", uploader, settings.UPLOAD_RATE_LIMIT, 60):
        raise Throttled(detail=f"More than {settings.UPLOAD_RATE_LIMIT} photos a minute: wait a minute and send again.")
    upload = CaptureUploadSerializer(data=request.data)
    upload.is_valid(raise_exception=True)
    try:
        capture = create_capture(
            session,
            upload.validated_data["image"],
            uploaded_by=None if device else request.user,
            source=Capture.CAMERA if device else upload.validated_data["source"],
            taken_at=upload.validated_data.get("taken_at"),
            device=device,
        )
    except ImageRejected as rejection:
        return Response({"image": [str(rejection)]}, status=status.HTTP_400_BAD_REQUEST)
    except TakenAtRefused as refusal:
        return Response({"taken_at": [str(refusal)]}, status=status.HTTP_400_BAD_REQUEST)
    data = CaptureSerializer(capture, context={"request": request}).data
    return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})


@extend_schema(responses=CaptureSerializer)
@api_view(["GET"])
@permission_classes([IsPersonOrDevice])
def capture_detail(request, pk):
    """One capture: its status (queued, processing, done, failed), the error when it failed,
    timings, and every face found with the student recognised (null when unknown)."""
    capture = get_object_or_404(with_faces(captures_for_caller(request)), pk=pk)
    return Response(CaptureSerializer(capture, context={"request": request}).data)
