"""Everything Roll Call stores about one student, as one zip file an admin can hand over."""

import io
import json
import zipfile
from pathlib import PurePosixPath

from django.utils import timezone


def _when(value):
    return timezone.localtime(value).isoformat() if value else None


def student_record(student):
    return {
        "student_number": student.student_number,
        "full_name": student.full_name,
        "email": student.email,
        "guardian_email": student.guardian_email,
        "login": student.user.username if student.user else None,
        "active": student.is_active,
        "consent": {
            "recorded_at": _when(student.consent_recorded_at),
            "recorded_by": student.consent_recorded_by.username if student.consent_recorded_by else None,
            "given_by": student.consent_given_by,
        },
        "courses": [
            {
                "code": membership.course.code,
                "name": membership.course.name,
                "member_from": membership.starts_on.isoformat() if membership.starts_on else None,
                "member_until": membership.ends_on.isoformat() if membership.ends_on else None,
            }
            for membership in student.memberships.select_related("course")
        ],
        "attendance": [
            {
                "course": record.session.course.code,
                "session_start": _when(record.session.starts_at),
                "status": record.status,
                "first_seen_at": _when(record.first_seen_at),
                "source": record.source,
                "match_distance": record.match_distance,
                "changes": [
                    {
                        "at": _when(change.changed_at),
                        "by": change.changed_by.username if change.changed_by else "Roll Call",
                        "from": change.old_status,
                        "to": change.new_status,
                        "reason": change.reason,
                    }
                    for change in record.changes.all()
                ],
            }
            for record in student.attendance.select_related("session__course").prefetch_related("changes__changed_by")
        ],
        "enrolment_photos": [
            {
                "file": f"enrolment_photos/{photo.pk}{PurePosixPath(photo.image.name).suffix}",
                "status": photo.status,
                "rejection_reason": photo.rejection_reason,
                "uploaded_at": _when(photo.created_at),
                "embeddings": sorted({e.model_name for e in photo.embeddings.all()}),
            }
            for photo in student.face_photos.all()
        ],
        "recognised_in_class_photos": [
            {
                "file": f"face_crops/{face.pk}.jpg",
                "session_start": _when(face.capture.session.starts_at),
                "course": face.capture.session.course.code,
                "distance": face.distance,
                "decided_by": face.decided_by,
            }
            for face in student.detections.select_related("capture__session__course")
        ],
        "notices": [
            {
                "kind": notice.kind,
                "to": notice.recipient,
                "subject": notice.subject,
                "body": notice.body,
                "sent_at": _when(notice.sent_at),
            }
            for notice in student.notices.all()
        ],
        "consent_withdrawals": [
            {
                "withdrawn_by": withdrawal.withdrawn_by,
                "withdrawn_at": _when(withdrawal.withdrawn_at),
                "recorded_by": withdrawal.recorded_by.username if withdrawal.recorded_by else None,
                "recorded_at": _when(withdrawal.recorded_at),
                "deleted": withdrawal.deleted,
            }
            for withdrawal in student.consent_withdrawals.select_related("recorded_by")
        ],
        # Who saw their face images, exported their data or withdrew their consent.
        "access_log": [
            {"at": _when(entry.at), "who": entry.who, "action": entry.action, "what": entry.what, "from": entry.address}
            for entry in student.access_log.all()
        ],
    }


def student_export_zip(student):
    record = student_record(student)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("student.json", json.dumps(record, indent=2, ensure_ascii=False))
        for photo, entry in zip(student.face_photos.all(), record["enrolment_photos"]):
            with photo.image.open("rb") as handle:
                archive.writestr(entry["file"], handle.read())
        for face, entry in zip(student.detections.all(), record["recognised_in_class_photos"]):
            if face.crop:
                with face.crop.open("rb") as handle:
                    archive.writestr(entry["file"], handle.read())
    return buffer.getvalue()
