"""Consent to process a student's face photos: nothing biometric of a student is processed
before it is recorded, with who gave it (the student, or a guardian for a minor).

Consent can be withdrawn as easily as it was given (withdraw_consent): everything biometric
of the student goes at once, and their attendance records stay.

The photos are recognition's: students does not know them. Recording consent sends
consent_recorded, on which recognition has the student's waiting photos checked and embedded
(recognition/enrolment.py); withdrawing it sends consent_withdrawn, on which recognition
deletes the student's photos, descriptors and crops (recognition/withdrawal.py).
"""

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from .access_log import log_access
from .models import AccessLogEntry, ConsentWithdrawal

# Sent with students=[the Student rows whose consent was just recorded], inside the change.
consent_recorded = Signal()
# Sent with student=the Student whose consent was just withdrawn, inside the change; each
# receiver returns {kind of face data: how many deleted}, which the withdrawal's audit keeps.
consent_withdrawn = Signal()


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


class WithdrawalWithoutWord(ValueError):
    """A withdrawal must say on whose word it was made, as consent says who gave it."""


@transaction.atomic
def withdraw_consent(student, withdrawn_by, recorded_by=None, withdrawn_at=None, request=None):
    """Withdraw the student's consent, on the word of `withdrawn_by` (the student, or a
    guardian): the consent is cleared, every enrolment photo, descriptor and face crop of the
    student is deleted (files once this commits), and the withdrawal is audited and logged.
    Attendance records stay. Consent given again starts from nothing: no photo is left.
    Returns the ConsentWithdrawal."""
    withdrawn_by = " ".join((withdrawn_by or "").split())
    if not withdrawn_by:
        raise WithdrawalWithoutWord(_("Say on whose word consent is withdrawn: the student, or the guardian's name."))
    # A capture saving its results for this student right now is waited for: its faces are
    # then there to be forgotten (docs/architecture.md, "A deletion against a capture").
    student.wait_for_captures_saving()
    given_by = student.consent_given_by
    student.consent_recorded_at = None
    student.consent_recorded_by = None
    student.consent_given_by = ""
    student.save(update_fields=["consent_recorded_at", "consent_recorded_by", "consent_given_by"])
    deleted = {}
    for _receiver, counts in consent_withdrawn.send(sender=withdraw_consent, student=student):
        deleted.update(counts or {})
    withdrawal = ConsentWithdrawal.objects.create(
        student=student,
        student_number=student.student_number,
        withdrawn_by=withdrawn_by,
        withdrawn_at=withdrawn_at or timezone.now(),
        recorded_by=recorded_by,
        consent_given_by=given_by,
        deleted=deleted,
    )
    log_access(
        AccessLogEntry.WITHDRAWAL,
        f"Consent of {student.student_number} withdrawn on the word of {withdrawn_by}",
        user=recorded_by,
        request=request,
        student=student,
    )
    return withdrawal
