"""The admin's "Withdraw consent": a button on the student's page and an action of the student
list, both leading to one form that asks on whose word and when, then withdraw_consent for each
student (students/consent.py)."""

from django import forms
from django.contrib import messages
from django.contrib.admin.helpers import AdminForm
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from access.roles import require_school_admin

from .consent import withdraw_consent
from .models import Student
from .permissions import in_reach


class WithdrawConsentForm(forms.Form):
    withdrawn_by = forms.CharField(
        label=gettext_lazy("Withdrawn on the word of"),
        max_length=200,
        widget=forms.TextInput(attrs={"class": "vTextField"}),
        help_text=gettext_lazy("The student, or for a minor the guardian who asked."),
    )
    withdrawn_at = forms.DateTimeField(
        label=gettext_lazy("Withdrawn at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=gettext_lazy("When they withdrew it (their letter, e-mail or call)."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["withdrawn_at"].initial = timezone.localtime().replace(second=0, microsecond=0)

    def clean_withdrawn_at(self):
        withdrawn_at = self.cleaned_data["withdrawn_at"]
        if withdrawn_at > timezone.now():
            raise ValidationError(_("A withdrawal is recorded once it was made: this time is in the future."))
        return withdrawn_at


def withdraw_from_form(request, students, form):
    """Withdraw the consent of these students as the valid form says; the admin's message."""
    for student in students:
        withdraw_consent(
            student,
            form.cleaned_data["withdrawn_by"],
            recorded_by=request.user,
            withdrawn_at=form.cleaned_data["withdrawn_at"],
            request=request,
        )
    count = len(students)
    messages.success(
        request,
        ngettext(
            "Consent withdrawn for %(count)d student: their photos, descriptors and face crops are deleted.",
            "Consent withdrawn for %(count)d students: their photos, descriptors and face crops are deleted.",
            count,
        )
        % {"count": count},
    )


def withdrawal_page(request, admin_site, students, form, action=False):
    return TemplateResponse(
        request,
        "admin/students/student/withdraw_consent.html",
        {
            **admin_site.each_context(request),
            "title": _("Withdraw consent"),
            "opts": Student._meta,
            "adminform": AdminForm(form, [(None, {"fields": ["withdrawn_by", "withdrawn_at"]})], {}),
            "students": students,
            "action": action,
        },
    )


def withdraw_consent_of_selected(model_admin, request, queryset):
    """The list action: like Django's delete action, a page of its own asks, then posts back."""
    require_school_admin(request.user)
    form = WithdrawConsentForm(request.POST if "confirm" in request.POST else None)
    students = list(queryset)
    if form.is_valid():
        withdraw_from_form(request, students, form)
        return None
    return withdrawal_page(request, model_admin.admin_site, students, form, action=True)


def withdraw_consent_of_student(request, object_id, admin_site):
    """The page the button on the student's page leads to."""
    require_school_admin(request.user)
    # The admin's own page: a school admin reaches every student (students/permissions.py).
    student = in_reach(Student.objects.all(), object_id, _("No such student."))
    form = WithdrawConsentForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        withdraw_from_form(request, [student], form)
        return redirect(reverse("admin:students_student_change", args=[student.pk]))
    return withdrawal_page(request, admin_site, [student], form)
