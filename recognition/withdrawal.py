"""What a withdrawal of consent does to the face data (students/consent.py: withdraw_consent
sends consent_withdrawn): every enrolment photo of the student and its descriptors deleted,
and every face of them in a class photo made unknown, without its descriptor and its crop.
Files go from the disk or the bucket once the withdrawal commits (models.delete_face_image_files).

The workers' galleries forget them before their next photo: the gallery's fingerprint
(processing.gallery_version) counts the rows, so the deleted descriptors make every worker
read it again, and the cleared consent keeps the student out of it in any case."""

from django.db.models import Q
from django.dispatch import receiver

from students.consent import consent_withdrawn

from .models import DetectedFace, FacePhoto, delete_file_on_commit
from .people import leave_person

# The reason a face of a student who withdrew consent gives for being nobody.
WITHDRAWN_REASON = "consent_withdrawn"


@receiver(consent_withdrawn)
def forget_student(sender, student, **kwargs):
    photos = 0
    for photo in FacePhoto.objects.filter(student=student):
        photo.delete()  # one by one: each file goes with its row, with the embeddings cascading
        photos += 1
    return {"enrolment_photos": photos, "faces_in_class_photos": forget_faces_of(student)}


def faces_of(student):
    """Every face in a class photo that is the student's as far as Roll Call can tell: marked or
    suggested as them, and every face of a person of a session that is them (named by a
    teacher, or grouped with a face that marks them)."""
    theirs = Q(student=student) | Q(suggested_student=student)
    people = DetectedFace.objects.filter(theirs, person__isnull=False).values("person_id")
    return DetectedFace.objects.filter(theirs | Q(person__in=people) | Q(person__student=student))


def forget_faces_of(student):
    """Make the student's faces unknown: no student, no suggestion, no descriptor, no crop, and
    out of their session's people (whose running sum loses their descriptor). The box stays on
    the class photo, which is kept as long as any (CAPTURE_RETENTION_DAYS). Returns how many."""
    faces = list(faces_of(student).order_by("person_id", "pk"))  # people locked in a capture's order
    for face in faces:
        leave_person(DetectedFace, face)
        if face.crop:
            delete_file_on_commit(face.crop.storage, face.crop.name)
    DetectedFace.objects.filter(pk__in=[face.pk for face in faces]).update(
        student=None,
        distance=None,
        suggested_student=None,
        suggested_distance=None,
        decision=DetectedFace.UNKNOWN,
        reason=WITHDRAWN_REASON,
        embedding=b"",
        crop="",
        person=None,
    )
    return len(faces)
