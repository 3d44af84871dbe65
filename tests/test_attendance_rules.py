from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from students.attendance import close_session, mark_seen, set_status
from students.models import AttendanceChange, AttendanceRecord, ClassSession

from .factories import make_course, make_session, make_student, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def lesson():
    students = [make_student("S1", "Ada"), make_student("S2", "Ben"), make_student("S3", "Cy")]
    return make_session(make_course(students=students), late_after_minutes=10), students


def test_seen_before_the_late_mark_is_present_and_after_it_late(lesson):
    session, (ada, ben, _) = lesson
    assert mark_seen(session, ada, session.starts_at + timedelta(minutes=9), "photo", 0.3).status == "present"
    assert mark_seen(session, ben, session.starts_at + timedelta(minutes=11), "camera", 0.3).status == "late"


def test_the_earliest_sighting_wins_across_captures(lesson):
    session, (ada, _, _) = lesson
    late_sighting = session.starts_at + timedelta(minutes=20)
    early_sighting = session.starts_at + timedelta(minutes=2)
    mark_seen(session, ada, late_sighting, "camera", 0.4)
    record = mark_seen(session, ada, early_sighting, "photo", 0.3)
    assert (record.status, record.first_seen_at, record.source) == ("present", early_sighting, "photo")
    record = mark_seen(session, ada, late_sighting, "camera", 0.2)
    assert (record.status, record.first_seen_at) == ("present", early_sighting)
    assert AttendanceRecord.objects.filter(session=session, student=ada).count() == 1


def test_a_teachers_decision_is_never_overwritten_by_recognition(lesson):
    session, (ada, _, _) = lesson
    teacher = make_user("teach", role="Teacher")
    set_status(session, ada, "excused", teacher, "Doctor's note")
    record = mark_seen(session, ada, session.starts_at, "photo", 0.2)
    assert record.status == "excused" and record.source == "manual"
    assert record.first_seen_at == session.starts_at


def test_every_status_change_is_in_the_audit_trail(lesson):
    session, (ada, _, _) = lesson
    teacher = make_user("teach", role="Teacher")
    mark_seen(session, ada, session.starts_at + timedelta(minutes=30), "photo", 0.3)
    set_status(session, ada, "present", teacher, "Was in the back row all along")
    changes = list(
        AttendanceChange.objects.filter(record__student=ada).values_list(
            "old_status", "new_status", "changed_by", "reason"
        )
    )
    assert changes == [
        ("", "late", None, "Recognised in a class photo"),
        ("late", "present", teacher.pk, "Was in the back row all along"),
    ]


def test_closing_a_session_marks_only_the_unmarked_absent(lesson):
    session, (ada, ben, cy) = lesson
    mark_seen(session, ada, session.starts_at, "photo", 0.3)
    assert close_session(session, make_user("teach", role="Teacher")) == 2
    statuses = dict(session.attendance.values_list("student__full_name", "status"))
    assert statuses == {"Ada": "present", "Ben": "absent", "Cy": "absent"}
    assert session.closed_at is not None


def test_an_unknown_status_is_refused(lesson):
    session, (ada, _, _) = lesson
    with pytest.raises(ValueError):
        set_status(session, ada, "asleep", None)


def test_one_attendance_record_per_student_per_session_is_enforced_by_the_database():
    student = make_student("S1")
    session = make_session(make_course(students=[student]))
    AttendanceRecord.objects.create(session=session, student=student, status="present", source="photo")
    with pytest.raises(IntegrityError), transaction.atomic():
        AttendanceRecord.objects.create(session=session, student=student, status="absent", source="manual")
    assert AttendanceRecord.objects.filter(session=session, student=student).count() == 1


def test_a_session_cannot_end_before_it_starts():
    session = make_session(make_course())
    session.ends_at = session.starts_at
    with pytest.raises(ValidationError, match="must end after it starts"):
        session.save()
    # The database holds the rule too, for a write that does not go through save().
    with pytest.raises(IntegrityError), transaction.atomic():
        ClassSession.objects.filter(pk=session.pk).update(ends_at=session.starts_at)
