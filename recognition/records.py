"""The records of processing a data protection officer reads in the admin: what face data is
stored and how much of it, how long it is kept, when the retention sweeps last ran, and whether
it is sealed at rest and since when under its key."""

from django.conf import settings
from django.db.models import Count, Min, Q

from students.models import AccessLogEntry, ConsentWithdrawal, Student

from .key_rotation import last_key_rotation
from .models import Capture, DetectedFace, FaceEmbedding, FacePhoto, RetentionSweep
from .sealed import face_data_keys


def stored_counts():
    faces = DetectedFace.objects.aggregate(
        rows=Count("pk"),
        descriptors=Count("pk", filter=~Q(embedding=b"")),
        crops=Count("pk", filter=~Q(crop="")),
        unclaimed=Count("pk", filter=Q(student__isnull=True) & (~Q(embedding=b"") | ~Q(crop=""))),
    )
    students = Student.objects.aggregate(
        rows=Count("pk"), consent=Count("pk", filter=Q(consent_recorded_at__isnull=False))
    )
    return {
        "students": students["rows"],
        "students_with_consent": students["consent"],
        "consent_withdrawals": ConsentWithdrawal.objects.count(),
        "enrolment_photos": FacePhoto.objects.count(),
        "enrolment_descriptors": FaceEmbedding.objects.count(),
        "class_photos": Capture.objects.count(),
        "faces": faces["rows"],
        "face_descriptors": faces["descriptors"],
        "face_crops": faces["crops"],
        "unclaimed_faces_with_data": faces["unclaimed"],
        "access_log_entries": AccessLogEntry.objects.count(),
    }


def records_of_processing():
    """Everything the summary page shows, read now."""
    return {
        "stored": stored_counts(),
        "oldest_class_photo": Capture.objects.aggregate(oldest=Min("created_at"))["oldest"],
        "capture_retention_days": settings.CAPTURE_RETENTION_DAYS,
        "unknown_face_hours": settings.UNKNOWN_FACE_HOURS,
        "sweeps": list(RetentionSweep.objects.all()),
        "sealing": sealing_state(),
    }


def sealing_state():
    """Whether new face data is sealed (FACE_DATA_KEY set), the id of the key it is sealed under
    (never the key), and when a rotation to a key last finished."""
    keys = face_data_keys()
    return {
        "sealed": bool(keys),
        "key_id": keys.sealing.id.hex() if keys else "",
        "last_rotation": last_key_rotation(),
    }
