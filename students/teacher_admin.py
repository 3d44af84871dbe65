"""The admin's _("Add a teacher") page: one form for the person, their e-mail and their courses."""

import smtplib

from django.contrib import messages
from django.contrib.admin.helpers import AdminForm
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from access.roles import require_school_admin

from .admin_forms import TeacherInvitationForm
from .models import Course
from .names import person_name
from .teachers import invite_teacher


def add_teacher(request, admin_site):
    require_school_admin(request.user)
    form = TeacherInvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            teacher = invite_teacher(data["full_name"], data["email"], data["courses"], request.build_absolute_uri("/"))
        except (smtplib.SMTPException, OSError) as error:
            form.add_error(
                None,
                _(
                    "The invitation could not be sent (%(error)s), so no login was created. Check the site's e-mail "
                    "settings, then try again."
                )
                % {"error": error},
            )
        else:
            messages.success(
                request,
                _("%(name)s can now choose a password: the invitation was sent to %(email)s.")
                % {"name": person_name(teacher), "email": teacher.email},
            )
            return redirect("admin:students_course_changelist")
    context = {
        **admin_site.each_context(request),
        "title": _("Add a teacher"),
        "opts": Course._meta,
        "adminform": AdminForm(form, [(None, {"fields": list(form.fields)})], {}),
        "media": form.media,
    }
    return TemplateResponse(request, "admin/students/add_teacher.html", context)
