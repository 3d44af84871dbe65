from rest_framework import serializers

from .models import AttendanceRecord, ClassSession, Course, Student


class StudentBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Student
        fields = ["id", "student_number", "full_name"]


class CourseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Course
        fields = ["id", "code", "name"]


class ClassSessionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ClassSession
        fields = [
            "id", "course", "starts_at", "ends_at", "room", "late_after_minutes", "closed_at", "cancelled_at", "series",
        ]
        read_only_fields = ["course", "closed_at", "cancelled_at", "series"]

    def validate(self, attrs):
        if attrs["ends_at"] <= attrs["starts_at"]:
            raise serializers.ValidationError({"ends_at": "The session must end after it starts."})
        return attrs


class RosterEntrySerializer(serializers.Serializer):
    """One enrolled student in a session; status is null until they are seen or marked."""

    student = StudentBriefSerializer()
    status = serializers.ChoiceField(choices=AttendanceRecord.STATUS_CHOICES, allow_null=True, source="record.status", default=None)
    first_seen_at = serializers.DateTimeField(allow_null=True, source="record.first_seen_at", default=None)
    source = serializers.ChoiceField(choices=AttendanceRecord.SOURCE_CHOICES, allow_null=True, source="record.source", default=None)
    match_distance = serializers.FloatField(allow_null=True, source="record.match_distance", default=None)
    marked_by = serializers.CharField(allow_null=True, source="record.marked_by.username", default=None)


class StatusChangeSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=AttendanceRecord.STATUS_CHOICES)
    reason = serializers.CharField(max_length=300, allow_blank=True, default="")


class MySessionSerializer(serializers.Serializer):
    session = serializers.IntegerField(source="session.pk")
    starts_at = serializers.DateTimeField(source="session.starts_at")
    ends_at = serializers.DateTimeField(source="session.ends_at")
    status = serializers.CharField(allow_null=True, source="record.status", default=None)
    first_seen_at = serializers.DateTimeField(allow_null=True, source="record.first_seen_at", default=None)


class MyCourseAttendanceSerializer(serializers.Serializer):
    course = CourseSerializer()
    percentage = serializers.FloatField(allow_null=True)
    sessions = MySessionSerializer(many=True)
