import pytest

from recognition.enrolment import add_enrolment_photo, record_consent
from students.models import Student


def enrol_identities(dataset, names, course):
    """Enrol these dataset identities as consenting students of the course, every photo."""
    students = {}
    for name in names:
        student = Student.objects.create(student_number=name[:32], full_name=name.replace("_", " "))
        record_consent(Student.objects.filter(pk=student.pk), None, "test fixture")
        for path in sorted((dataset / "identities" / name).iterdir()):
            add_enrolment_photo(student, path.read_bytes())
        course.students.add(student)
        students[name] = student
    return students


@pytest.fixture(scope="session")
def engine():
    from recognition.processing import face_engine

    return face_engine()
