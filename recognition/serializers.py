from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from students.serializers import StudentBriefSerializer

from .captures import TAKEN_AFTER_NOW, TAKEN_BEFORE_START, minutes
from .models import Capture, DetectedFace
from .people import FACES_SHOWN


class SuggestionSerializer(serializers.Serializer):
    student = StudentBriefSerializer()
    distance = serializers.FloatField()


class DetectedFaceSerializer(serializers.ModelSerializer):
    box = serializers.ListField(
        child=serializers.IntegerField(), min_length=4, max_length=4, help_text="x1, y1, x2, y2 in image pixels"
    )
    student = StudentBriefSerializer(
        allow_null=True, help_text="Marked automatically (strong evidence) or assigned by a person; null otherwise."
    )
    suggestion = serializers.SerializerMethodField(
        help_text="Who the face may be, on evidence too weak to mark them: nobody is marked until a person assigns it."
    )

    rejected_students = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="Students a person said this face is not: never proposed for it again."
    )

    class Meta:
        model = DetectedFace
        fields = [
            "id",
            "box",
            "score",
            "student",
            "suggestion",
            "distance",
            "decided_by",
            "dismissed",
            "rejected_students",
            "person",
        ]
        extra_kwargs = {
            "id": {"help_text": "The face's id."},
            "score": {"help_text": "The detector's confidence that this is a face, 0 to 1."},
            "distance": {
                "help_text": "Distance to the marked or assigned student's photos (smaller is surer); null otherwise."
            },
            "decided_by": {"help_text": "Who named the face: automatically (the recognition) or by a person."},
            "dismissed": {"help_text": "A teacher said this is not one of their students: it asks no more."},
            "rejected_students": {
                "help_text": "Students a teacher said this face is not: never proposed for it again."
            },
            "person": {
                "help_text": "The session's person the face is (one per person across the session's captures): "
                "a correction of the face acts on every face of its person."
            },
        }

    @extend_schema_field(SuggestionSerializer(allow_null=True))
    def get_suggestion(self, face):
        if face.student_id is not None or face.suggested_student_id is None:
            return None
        return SuggestionSerializer({"student": face.suggested_student, "distance": face.suggested_distance}).data


class TimingsSerializer(serializers.Serializer):
    # Milliseconds each step took; null until processed.
    detect_ms = serializers.FloatField(allow_null=True, help_text="Milliseconds finding the faces.")
    embed_ms = serializers.FloatField(allow_null=True, help_text="Milliseconds describing the faces.")
    match_ms = serializers.FloatField(allow_null=True, help_text="Milliseconds matching them to the roster.")
    total_ms = serializers.FloatField(allow_null=True, help_text="Milliseconds in all.")


class CaptureSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="This capture in the API: poll it until it is done or failed.")
    image_url = serializers.SerializerMethodField(help_text="The photo itself (for those who may see it).")
    timings = TimingsSerializer(source="*", read_only=True, help_text="How long each step of the recognition took.")
    faces = DetectedFaceSerializer(many=True, read_only=True, help_text="The faces found, once done.")

    class Meta:
        model = Capture
        fields = [
            "id",
            "url",
            "session",
            "source",
            "status",
            "error",
            "taken_at",
            "created_at",
            "face_count",
            "image_url",
            "timings",
            "faces",
        ]
        extra_kwargs = {
            "id": {"help_text": "The capture's id."},
            "session": {"help_text": "The session's id."},
            "source": {"help_text": "A photo uploaded, or a camera's snapshot."},
            "status": {"help_text": "queued, processing, then done or failed; attendance is marked when done."},
            "error": {"help_text": "Why it failed, for a person; empty otherwise."},
            "taken_at": {"help_text": "When the photo was taken: the time the students in it were first seen."},
            "created_at": {"help_text": "When it was received."},
            "face_count": {"help_text": "How many faces were found; null until processed."},
        }

    def get_url(self, capture) -> str:
        return self.context["request"].build_absolute_uri(reverse("api_capture", args=[capture.pk]))

    def get_image_url(self, capture) -> str:
        return self.context["request"].build_absolute_uri(reverse("capture_image", args=[capture.pk]))


class CaptureUploadSerializer(serializers.Serializer):
    # An empty file passes here so that create_capture refuses it with the advice every route gives.
    image = serializers.FileField(
        allow_empty_file=True,
        help_text="A JPEG, PNG or WebP class photo or camera snapshot, of at most MAX_PHOTO_PIXELS pixels (25 MP by "
        "default); any other format is refused with 400.",
    )
    source = serializers.ChoiceField(
        choices=Capture.SOURCE_CHOICES, default=Capture.PHOTO, help_text="photo (uploaded) or camera (a snapshot)."
    )
    taken_at = serializers.DateTimeField(
        required=False,
        help_text=f"When it was taken; now when left out. From {minutes(TAKEN_BEFORE_START)} minutes before the "
        f"session starts to {minutes(TAKEN_AFTER_NOW)} minutes from now, else 400.",
    )


class PersonFaceSerializer(DetectedFaceSerializer):
    capture = serializers.IntegerField(source="capture_id")
    crop_url = serializers.SerializerMethodField()

    class Meta(DetectedFaceSerializer.Meta):
        fields = DetectedFaceSerializer.Meta.fields + ["capture", "crop_url"]

    def get_crop_url(self, face) -> str | None:
        # None once the crop is gone: the session was closed, or the student withdrew consent.
        if not face.crop:
            return None
        return self.context["request"].build_absolute_uri(reverse("face_crop_image", args=[face.pk]))


class UnknownPersonSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="person.pk", help_text="The person's id (the faces' `person`).")
    faces = PersonFaceSerializer(
        many=True,
        help_text=f"Up to {FACES_SHOWN} of its faces, the one its suggestion comes from first, then the latest.",
    )
    face_count = serializers.IntegerField(help_text="How many faces it has, one per capture it is in.")
    suggestion = serializers.SerializerMethodField()
    captures = serializers.SerializerMethodField(help_text="The ids of the captures it is in.")

    @extend_schema_field(SuggestionSerializer(allow_null=True))
    def get_suggestion(self, person):
        if person.suggestion is None:
            return None
        return SuggestionSerializer({"student": person.suggestion, "distance": person.suggested_distance}).data

    def get_captures(self, person) -> list[int]:
        return self.context["captures"][person.person.pk]


class FaceCorrectionSerializer(serializers.Serializer):
    also = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        default=list,
        help_text="Other faces to correct with this one, with the rest of their people (the face's own person "
        "is always corrected whole).",
    )


class FaceAssignSerializer(FaceCorrectionSerializer):
    student = serializers.IntegerField(help_text="The student of the course the face is.")
    add_to_enrolment = serializers.BooleanField(
        default=False,
        help_text="Also add the face's crop to their enrolment photos (used once corroborated or approved).",
    )
