from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from students.serializers import StudentBriefSerializer

from .captures import TAKEN_AFTER_NOW, TAKEN_BEFORE_START, minutes
from .models import Capture, DetectedFace


class SuggestionSerializer(serializers.Serializer):
    student = StudentBriefSerializer()
    distance = serializers.FloatField()


class DetectedFaceSerializer(serializers.ModelSerializer):
    box = serializers.ListField(child=serializers.IntegerField(), min_length=4, max_length=4, help_text="x1, y1, x2, y2 in image pixels")
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
            "id", "box", "score", "student", "suggestion", "distance", "decided_by", "dismissed", "rejected_students",
        ]

    @extend_schema_field(SuggestionSerializer(allow_null=True))
    def get_suggestion(self, face):
        if face.student_id is not None or face.suggested_student_id is None:
            return None
        return SuggestionSerializer({"student": face.suggested_student, "distance": face.suggested_distance}).data


class TimingsSerializer(serializers.Serializer):
    detect_ms = serializers.FloatField(allow_null=True)
    embed_ms = serializers.FloatField(allow_null=True)
    match_ms = serializers.FloatField(allow_null=True)
    total_ms = serializers.FloatField(allow_null=True)


class CaptureSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    image_url = serializers.SerializerMethodField()
    timings = TimingsSerializer(source="*", read_only=True)
    faces = DetectedFaceSerializer(many=True, read_only=True)

    class Meta:
        model = Capture
        fields = [
            "id", "url", "session", "source", "status", "error", "taken_at", "created_at",
            "face_count", "image_url", "timings", "faces",
        ]

    def get_url(self, capture) -> str:
        return self.context["request"].build_absolute_uri(reverse("api_capture", args=[capture.pk]))

    def get_image_url(self, capture) -> str:
        return self.context["request"].build_absolute_uri(reverse("capture_image", args=[capture.pk]))


class CaptureUploadSerializer(serializers.Serializer):
    # An empty file passes here so that create_capture refuses it with the advice every route gives.
    image = serializers.FileField(allow_empty_file=True, help_text="A JPEG or PNG class photo or camera snapshot.")
    source = serializers.ChoiceField(choices=Capture.SOURCE_CHOICES, default=Capture.PHOTO)
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

    def get_crop_url(self, face) -> str:
        return self.context["request"].build_absolute_uri(reverse("face_crop_image", args=[face.pk]))


class UnknownPersonSerializer(serializers.Serializer):
    faces = PersonFaceSerializer(many=True, help_text="Its faces; the first is the one its suggestion comes from.")
    suggestion = serializers.SerializerMethodField()
    captures = serializers.ListField(child=serializers.IntegerField())

    @extend_schema_field(SuggestionSerializer(allow_null=True))
    def get_suggestion(self, person):
        if person.suggestion is None:
            return None
        return SuggestionSerializer({"student": person.suggestion, "distance": person.suggested_distance}).data


class FaceCorrectionSerializer(serializers.Serializer):
    also = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list,
        help_text="Other faces of the same person (the rest of its unknown-people group) to correct with this one.",
    )


class FaceAssignSerializer(FaceCorrectionSerializer):
    student = serializers.IntegerField(help_text="The student of the course the face is.")
    add_to_enrolment = serializers.BooleanField(
        default=False,
        help_text="Also add the face's crop to their enrolment photos (used once corroborated or approved).",
    )
