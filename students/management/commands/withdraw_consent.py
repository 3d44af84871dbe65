"""manage.py withdraw_consent STUDENT_NUMBER --by WHO: a withdrawal of consent received by letter
or phone, from the command line (students/consent.py: withdraw_consent)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_naive, make_aware
from django.utils.translation import gettext as _
from django.utils.translation import ngettext_lazy

from students.consent import WithdrawalWithoutWord, withdraw_consent
from students.models import Student

# What recognition/withdrawal.py deleted, by its key: %(count)d of them.
DELETED = {
    "enrolment_photos": ngettext_lazy("%(count)d enrolment photo", "%(count)d enrolment photos", "count"),
    "faces_in_class_photos": ngettext_lazy(
        "%(count)d face in class photos", "%(count)d faces in class photos", "count"
    ),
}


class Command(BaseCommand):
    help = (
        "Withdraw a student's consent: delete every enrolment photo, face descriptor and face crop of "
        "them (files too); their attendance records stay."
    )

    def add_arguments(self, parser):
        parser.add_argument("student_number")
        parser.add_argument("--by", required=True, help="On whose word: the student, or the guardian's name.")
        parser.add_argument("--at", help="When they withdrew it (ISO 8601, e.g. 2026-03-02T09:30); default now.")

    def handle(self, student_number, by, at=None, **options):
        student = Student.objects.filter(student_number=student_number).first()
        if student is None:
            raise CommandError(_("No student has the number %(number)r.") % {"number": student_number})
        withdrawn_at = parse_datetime(at) if at else None
        if at and withdrawn_at is None:
            raise CommandError(_("--at %(at)r is not a date and time (ISO 8601, e.g. 2026-03-02T09:30).") % {"at": at})
        if withdrawn_at is not None and is_naive(withdrawn_at):
            withdrawn_at = make_aware(withdrawn_at)
        try:
            withdrawal = withdraw_consent(student, by, withdrawn_at=withdrawn_at)
        except WithdrawalWithoutWord as error:
            raise CommandError(str(error)) from None
        deleted = ", ".join(DELETED[kind] % {"count": count} for kind, count in withdrawal.deleted.items())
        self.stdout.write(
            _("Consent of %(student)s withdrawn on the word of %(by)s: %(deleted)s.")
            % {"student": student, "by": withdrawal.withdrawn_by, "deleted": deleted}
        )
