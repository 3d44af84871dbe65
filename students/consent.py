"""Consent to process a student's face photos: nothing biometric of a student is processed
before it is recorded, with who gave it (the student, or a guardian for a minor).

The photos are recognition's: students does not know them. Recording consent sends
consent_recorded, on which recognition has the student's waiting photos checked and embedded
(recognition/enrolment.py).
"""

from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

# Sent with students=[the Student rows whose consent was just recorded], inside the change.
consent_recorded = Signal()


class ConsentWithoutGiver(ValueError):
    """Consent recorded without saying who gave it would be no record at all."""


def record_consent(students, recorded_by, given_by):
    """Record consent, given by `given_by` (the student, or a guardian for a minor), for students
    who have none yet. Returns how many were recorded."""
    given_by = " ".join((given_by or "").split())
    if not given_by:
        raise ConsentWithoutGiver(_("Say who gave consent: the student, or the guardian's name."))
    waiting = list(students.without_consent())
    for student in waiting:
        student.consent_recorded_at = timezone.now()
        student.consent_recorded_by = recorded_by
        student.consent_given_by = given_by
        student.save(update_fields=["consent_recorded_at", "consent_recorded_by", "consent_given_by"])
    if waiting:
        consent_recorded.send(sender=record_consent, students=waiting)
    return len(waiting)
