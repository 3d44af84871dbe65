"""Captures over the REST API: the session page, scripts and classroom cameras send photos
here and poll each capture until the worker has done with it."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from access.devices import DeviceOnly, device_of, persons_and_devices
from students.permissions import enrolled_student, managed_session, session_for_caller

from .captures import (
    ImageRejected,
    SessionCancelled,
    SessionClosed,
    TakenAtRefused,
    create_capture,
    upload_limit_refusal,
)
from .classroom import NoSessionOn, session_on_now
from .models import Capture, DetectedFace
from .people import captures_of, faces_of_people, unknown_people
from .permissions import capture_for_caller, captures_for_caller, managed_capture, managed_faces
from .queries import latest_captures
from .review import (
    ReviewRefused,
    assign_faces,
    confirm_suggestion,
    dismiss_faces,
    reject_student,
    remove_capture,
)
from .serializers import (
    CaptureSerializer,
    CaptureUploadSerializer,
    DetectedFaceSerializer,
    FaceAssignSerializer,
    FaceCorrectionSerializer,
    UnknownPersonSerializer,
)

# Classroom cameras send captures and read back those they sent; correcting faces and removing
# photos is a teacher's.
DEVICES_SEND = persons_and_devices("GET", "POST", refusal=_("A classroom camera sends captures and reads them back."))
DEVICES_READ = persons_and_devices(
    "GET", refusal=_("A classroom camera cannot correct faces or remove photos; a teacher can.")
)


@extend_schema(methods=["GET"], responses=CaptureSerializer(many=True))
@extend_schema(
    methods=["POST"], request={"multipart/form-data": CaptureUploadSerializer}, responses={202: CaptureSerializer}
)
@api_view(["GET", "POST"])
@permission_classes([DEVICES_SEND])
@parser_classes([MultiPartParser, FormParser])
def session_captures(request, pk):
    """The session's latest captures (GET), or a new class photo or camera snapshot (POST,
    multipart field `image`): answered 202 at once, recognition runs in the background."""
    session = session_for_caller(request, pk)
    if request.method == "GET":
        captures = latest_captures(captures_for_caller(request).filter(session=session))
        return Response(CaptureSerializer(captures, many=True, context={"request": request}).data)
    return receive_capture(request, lambda taken_at: session)


@extend_schema(request={"multipart/form-data": CaptureUploadSerializer}, responses={202: CaptureSerializer})
@api_view(["POST"])
@permission_classes([DeviceOnly])
@parser_classes([MultiPartParser, FormParser])
def device_captures(request):
    """For classroom cameras (a device token): a snapshot for the session on now in the
    device's room (and course, if it is scoped to one), from an hour before its start to its
    end, not cancelled or closed. 409 when none is on, naming the next one."""
    device = device_of(request)
    return receive_capture(request, lambda taken_at: session_on_now(device, taken_at or timezone.now()))


def receive_capture(request, session_for):
    """The upload of both routes: rate limit, form, the session (session_for(taken_at)), then
    create_capture; answered 202 with the capture, or why it was refused."""
    device = device_of(request)
    uploader = f"device:{device.pk}" if device else f"user:{request.user.pk}"
    refusal = upload_limit_refusal(uploader)
    if refusal:
        raise Throttled(detail=refusal)
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


@extend_schema(methods=["GET"], responses=CaptureSerializer)
@extend_schema(methods=["DELETE"], responses={204: None})
@api_view(["GET", "DELETE"])
@permission_classes([DEVICES_READ])
def capture_detail(request, pk):
    """One capture (GET): its status (queued, processing, done, failed), the error when it
    failed, timings, and every face found with the student recognised (null when unknown).
    DELETE (teachers, not devices) removes a photo sent by mistake: the capture, its faces, crops
    and image; a machine mark only it supported is withdrawn, a person's decisions stay."""
    if request.method == "DELETE":
        remove_capture(managed_capture(request, pk), request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
    capture = capture_for_caller(request, pk)
    return Response(CaptureSerializer(capture, context={"request": request}).data)


@extend_schema(responses=UnknownPersonSerializer(many=True))
@api_view(["GET"])
def session_unknown_people(request, pk):
    """The session's people that ask who they are (nobody named, marked or dismissed for them,
    and not suggested as a student already seen in the session), the first seen first: one entry
    per person across its captures, with the best suggestion and a few of its faces. Act on a
    person with the face actions below and any of its faces' ids in the path: they act on every
    face of the person, and the person keeps the decision for the faces that join it later."""
    session = managed_session(request, pk)
    people = unknown_people(session)
    context = {"request": request, "captures": captures_of([person.person for person in people])}
    return Response(UnknownPersonSerializer(people, many=True, context=context).data)


def correct_faces(request, pk, correction, body_class=FaceCorrectionSerializer):
    """Validate the body, find the face (and any others in `also`) among the caller's, run
    correction(faces, user, **the rest of the body) on their people, and answer with every face
    of those people as it is now (400: why not). A device token gets 403 before this: these views need a person's login
    (the API's default)."""
    body = body_class(data=request.data)
    body.is_valid(raise_exception=True)
    fields = dict(body.validated_data)
    faces = managed_faces(request, pk, fields.pop("also"))
    try:
        correction(faces, request.user, **fields)
    except ReviewRefused as refusal:
        raise ValidationError({"detail": str(refusal)}) from refusal
    changed = faces_of_people(faces)
    now = DetectedFace.objects.select_related("student", "suggested_student").prefetch_related("rejected_students")
    by_pk = now.in_bulk([face.pk for face in changed])
    return Response(DetectedFaceSerializer([by_pk[face.pk] for face in changed], many=True).data)


@extend_schema(request=FaceCorrectionSerializer, responses=DetectedFaceSerializer(many=True))
@api_view(["POST"])
def face_confirm(request, pk):
    """Confirm the face's suggestion: the suggested student is marked as seen at the photo's
    time, as your decision ("Suggestion in capture N confirmed by ..." in the audit trail)."""
    return correct_faces(request, pk, confirm_suggestion)


@extend_schema(request=FaceCorrectionSerializer, responses=DetectedFaceSerializer(many=True))
@api_view(["POST"])
def face_reject(request, pk):
    """ "This is not <student>", for the student the face is marked or suggested as: the face
    becomes unknown for them and never proposes them again; their machine mark in the session
    is withdrawn unless a face in another capture supports it. A person's decision stays."""
    return correct_faces(request, pk, reject_student)


def assign_to_student_of_course(faces, user, student, add_to_enrolment):
    student = enrolled_student(faces[0].capture.session.course, student)
    return assign_faces(faces, student, user, add_to_enrolment=add_to_enrolment)


@extend_schema(request=FaceAssignSerializer, responses=DetectedFaceSerializer(many=True))
@api_view(["POST"])
def face_assign(request, pk):
    """Say who the face is (a student of the course): they are marked as seen as your
    decision; a machine mark of someone else by this face is withdrawn unless another face
    supports it."""
    return correct_faces(request, pk, assign_to_student_of_course, FaceAssignSerializer)


@extend_schema(request=FaceCorrectionSerializer, responses=DetectedFaceSerializer(many=True))
@api_view(["POST"])
def face_dismiss(request, pk):
    """ "Not one of my students": the face stops asking who it is and marks nobody."""
    return correct_faces(request, pk, dismiss_faces)
