from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from . import vocabulary
from .models import AttendanceRecord, ClassSession, Course, Room, Student
from .schedule import check_schedule


class StudentBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Student
        fields = ["id", "student_number", "full_name"]
        extra_kwargs = {
            "id": {"help_text": "The student's id in Roll Call (student_pk in the attendance paths)."},
            "student_number": {"help_text": "The school's number for the student, unique."},
            "full_name": {"help_text": "The student's name as the school writes it."},
        }


class CourseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Course
        fields = ["id", "code", "name"]
        extra_kwargs = {
            "id": {"help_text": "The course's id in Roll Call (in /api/courses/{id}/sessions/)."},
            "code": {"help_text": "The school's short code for the course, unique, e.g. MATH1."},
            "name": {"help_text": "The course's name; may be empty until an admin fills it in."},
        }


class RoomField(serializers.SlugRelatedField):
    """A room by its name, compared without case; null (or "") for none."""

    default_error_messages = {"does_not_exist": _("No room is named '{value}': the school's admins add the rooms.")}

    def __init__(self, **kwargs):
        super().__init__(slug_field="name", queryset=Room.objects.all(), allow_null=True, required=False, **kwargs)

    def to_internal_value(self, data):
        if data in ("", None):
            return None
        room = Room.objects.filter(name__iexact=str(data).strip()).first()
        if room is None:
            self.fail("does_not_exist", value=data)
        return room


class ClassSessionSerializer(serializers.ModelSerializer):
    room = RoomField(
        help_text="The room's name, one of the school's rooms (an admin adds them); null for none. A room's "
        "camera (device token) sends to the session held in its room at the time."
    )

    class Meta:
        model = ClassSession
        fields = [
            "id",
            "course",
            "starts_at",
            "ends_at",
            "room",
            "late_after_minutes",
            "closed_at",
            "cancelled_at",
            "series",
        ]
        read_only_fields = ["course", "closed_at", "cancelled_at", "series"]
        extra_kwargs = {
            "id": {"help_text": "The session's id (in /api/sessions/{id}/…)."},
            "course": {"help_text": "The course's id; a new session belongs to the course of its path."},
            "starts_at": {"help_text": "When the class starts (ISO 8601 with a time zone)."},
            "ends_at": {"help_text": "When the class ends; after starts_at."},
            "closed_at": {
                "help_text": "When a teacher closed it: the students not seen by then are absent. Null while open."
            },
            "cancelled_at": {"help_text": "When the session was cancelled (it then counts nowhere); null if it is on."},
            "series": {"help_text": "The timetable row this session was made from; null for a one-off session."},
        }

    def validate(self, attrs):
        # The model's own rules (students/schedule.py): no more than MAX_SESSION_HOURS long,
        # never in a room another session holds then.
        try:
            check_schedule(ClassSession(pk=getattr(self.instance, "pk", None), **attrs))
        except ValidationError as refused:
            raise serializers.ValidationError(refused.message_dict) from refused
        return attrs


class RosterEntrySerializer(serializers.Serializer):
    """One enrolled student in a session; status is null until they are seen or marked."""

    student = StudentBriefSerializer()
    status = serializers.ChoiceField(
        choices=AttendanceRecord.STATUS_CHOICES,
        allow_null=True,
        source="record.status",
        default=None,
        help_text="The student's attendance in this session; null until they are seen or marked.",
    )
    first_seen_at = serializers.DateTimeField(
        allow_null=True,
        source="record.first_seen_at",
        default=None,
        help_text="When the photo that first showed them was taken; null when nobody saw them.",
    )
    source = serializers.ChoiceField(
        choices=AttendanceRecord.SOURCE_CHOICES,
        allow_null=True,
        source="record.source",
        default=None,
        help_text="What set the status: a class photo, a camera, a person (manual), or closing the session.",
    )
    match_distance = serializers.FloatField(
        allow_null=True,
        source="record.match_distance",
        default=None,
        help_text="How far the face was from the student's enrolment photos (smaller is surer); null if not seen.",
    )
    marked_by = serializers.CharField(
        allow_null=True,
        source="record.marked_by.username",
        default=None,
        help_text="The login of whoever set the status by hand or closed the session; null for the machine.",
    )
    status_text = serializers.CharField(
        help_text="The student's status in the site's words, translated, as percentages count it: with no "
        "record, 'not marked yet' while the session is on, 'absent' once it is over and taken."
    )


class StatusChangeSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=AttendanceRecord.STATUS_CHOICES,
        help_text="The new status; a person's status is never overwritten by a capture.",
    )
    reason = serializers.CharField(
        max_length=300, allow_blank=True, default="", help_text='Why, for the audit trail (e.g. "doctor\'s note").'
    )


class MySessionSerializer(serializers.Serializer):
    session = serializers.IntegerField(source="session.pk", help_text="The session's id.")
    starts_at = serializers.DateTimeField(source="session.starts_at", help_text="When the class started.")
    ends_at = serializers.DateTimeField(source="session.ends_at", help_text="When the class ended.")
    status = serializers.ChoiceField(
        choices=list(vocabulary.STUDENT_STATUSES),
        help_text="present, late, absent or excused as recorded; else not_marked_yet (the session is on, or "
        "nothing is recorded yet) or not_taken (the session is over and nobody took attendance: not an absence).",
    )
    status_text = serializers.CharField(source="word", help_text="The status in the site's words, translated.")
    first_seen_at = serializers.DateTimeField(
        allow_null=True, source="record.first_seen_at", default=None, help_text="When you were first seen; null if not."
    )


class MyCourseAttendanceSerializer(serializers.Serializer):
    course = CourseSerializer()
    percentage = serializers.FloatField(
        allow_null=True,
        help_text="Attendance so far in percent, as docs/teachers.md says; null before any session counts.",
    )
    sessions = MySessionSerializer(
        many=True, help_text="Every session of your membership that has started, newest first, not cancelled."
    )
