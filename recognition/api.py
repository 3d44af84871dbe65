"""Captures over the REST API: the session page, scripts and classroom cameras send photos
here and poll each capture until the worker has done with it."""
from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.exceptions import PermissionDenied, Throttled
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from attendance_site.ratelimit import over_limit
from students.permissions import captures_for_caller, sessions_for_caller

from .authentication import IsPersonOrDevice, device_of
from .captures import ImageRejected, SessionCancelled, SessionClosed, TakenAtRefused, create_capture
from .classroom import NoSessionOn, session_on_now
from .models import Capture
from .queries import latest_captures, with_faces
from .serializers import CaptureSerializer, CaptureUploadSerializer


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
        captures = latest_captures(captures_for_caller(request).filter(session=session))
        return Response(CaptureSerializer(captures, many=True, context={"request": request}).data)
    return receive_capture(request, lambda taken_at: session)


@extend_schema(request={"multipart/form-data": CaptureUploadSerializer}, responses={202: CaptureSerializer})
@api_view(["POST"])
@permission_classes([IsPersonOrDevice])
@parser_classes([MultiPartParser, FormParser])
def device_captures(request):
    """For classroom cameras (a device token): a snapshot for the session on now in the
    device's room (and course, if it is scoped to one), from an hour before its start to its
    end, not cancelled or closed. 409 when none is on, naming the next one."""
    device = device_of(request)
    if device is None:
        raise PermissionDenied(
            "This route is for classroom cameras; send class photos to /api/sessions/<id>/captures/."
        )
    return receive_capture(request, lambda taken_at: session_on_now(device, taken_at or timezone.now()))


def receive_capture(request, session_for):
    """The upload of both routes: rate limit, form, the session (session_for(taken_at)), then
    create_capture; answered 202 with the capture, or why it was refused."""
    device = device_of(request)
    uploader = f"device:{device.pk}" if device else f"user:{request.user.pk}"
    if over_limit("upload", uploader, settings.UPLOAD_RATE_LIMIT, 60):
        raise Throttled(detail=f"More than {settings.UPLOAD_RATE_LIMIT} photos a minute: wait a minute and send again.")
    upload = CaptureUploadSerializer(data=request.data)
    upload.is_valid(raise_exception=True)
    try:
        capture = create_capture(
            session_for(upload.validated_data.get("taken_at")),
            upload.validated_data["image"],
            uploaded_by=None if device else request.user,
            source=Capture.CAMERA if device else upload.validated_data["source"],
            taken_at=upload.validated_data.get("taken_at"),
            device=device,
        )
    except (NoSessionOn, SessionCancelled, SessionClosed) as refusal:
        return Response({"detail": str(refusal)}, status=status.HTTP_409_CONFLICT)
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
