"""The admin's _("Import OneRoster") page: upload a bundle, read the preview, apply it.

The preview page carries the bundle (re-zipped, only the files the import reads) and the digest
of the plan it showed to its Apply button, so any web server can apply it and nothing is kept
between the two requests; an Apply whose plan differs from the one shown (the database changed
meanwhile) shows the new preview instead of writing.
"""

import base64
import binascii
import io

from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from access.roles import require_school_admin

from .oneroster import checking, planning, preview, reading


class BundleUploadForm(forms.Form):
    bundle = forms.FileField(
        label=_("OneRoster bundle (zip)"), help_text=_("The zip of CSV files the school's system exported.")
    )


class ApplyForm(forms.Form):
    bundle = forms.CharField(widget=forms.HiddenInput)
    digest = forms.CharField(widget=forms.HiddenInput)
    confirm_removals = forms.BooleanField(
        required=False, label=_("Also apply the removals listed (students are deactivated, never deleted)")
    )


def import_oneroster(request, admin_site):
    require_school_admin(request.user)
    context = {**admin_site.each_context(request), "title": _("Import OneRoster"), "upload_form": BundleUploadForm()}
    if request.method == "POST" and "digest" in request.POST:
        return apply_bundle(request, context)
    if request.method == "POST":
        form = BundleUploadForm(request.POST, request.FILES)
        context["upload_form"] = form
        if form.is_valid():
            context.update(preview_context(form.cleaned_data["bundle"].read()))
    return TemplateResponse(request, "admin/students/oneroster_import.html", context)


def apply_bundle(request, context):
    form = ApplyForm(request.POST)
    try:
        content = base64.b64decode(form.data.get("bundle", ""), validate=True) if form.is_valid() else b""
    except binascii.Error:
        content = b""
    shown = preview_context(content)
    if shown.get("plan") is None:
        context.update(shown)
        return TemplateResponse(request, "admin/students/oneroster_import.html", context)
    confirm = form.cleaned_data["confirm_removals"]
    # Each held login (students/oneroster/planning.py: Plan.held) is its own box, ticked by name.
    logins = request.POST.getlist("confirm_login")
    try:
        plan = planning.apply_roster(
            shown["roster"],
            confirm,
            previewed_digest=form.cleaned_data["digest"],
            confirmed_logins=logins,
            confirmed_by=request.user,
        )
    except planning.PreviewOutdated as outdated:
        context.update(shown, outdated=str(outdated))
        return TemplateResponse(request, "admin/students/oneroster_import.html", context)
    if plan.errors:
        context.update(shown, errors=plan.errors)
        return TemplateResponse(request, "admin/students/oneroster_import.html", context)
    messages.success(request, _("OneRoster bundle applied. %(totals)s") % {"totals": preview.totals(plan)})
    if plan.count(planning.REMOVE) and not confirm:
        messages.warning(
            request,
            _("%(count)d removal(s) not applied: they were not confirmed.") % {"count": plan.count(planning.REMOVE)},
        )
    if plan.unconfirmed():
        messages.warning(
            request,
            _("The changes to %(logins)s were not applied: they were not confirmed.")
            % {"logins": ", ".join(plan.unconfirmed())},
        )
    return redirect("admin:students_student_changelist")


def preview_context(content):
    """What the preview page shows for a bundle's bytes: the refusal or errors, or the plan."""
    try:
        files = reading.read_zip(io.BytesIO(content))
    except reading.BundleRefused as refused:
        return {"refused": str(refused)}
    roster, errors = checking.read_roster(files)
    plan = None if errors else planning.plan_import(roster)
    errors = errors or plan.errors
    if errors:
        return {"errors": errors}
    carried = base64.b64encode(reading.zip_of(files)).decode()
    return {
        "roster": roster,
        "plan": plan,
        "summary": preview.summary(plan),
        "kinds": planning.KINDS,
        "changes": [(kind, plan.rows(kind)) for kind in planning.KINDS],
        "notes": preview.notes(plan),
        "held": plan.held_rows(),
        "held_note": preview.HELD_NOTE,
        "apply_form": ApplyForm(initial={"bundle": carried, "digest": plan.digest}),
        "removals": plan.count(planning.REMOVE),
    }
