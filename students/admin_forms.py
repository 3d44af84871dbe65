"""The forms of the student and course admin pages, and of the admin's own pages (record consent
for several students, add a teacher): people are picked by their full names, and only among
those of the right role (access/roles.py)."""

from django import forms
from django.contrib.admin.widgets import AdminSplitDateTime, FilteredSelectMultiple
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .models import Course, Student
from .names import person_label, refuse_control_characters
from .teachers import split_full_name

GIVEN_BY_HELP = _(
    "The student, or for a minor the guardian who signed. Saving with a name records consent now, by you."
)


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        return person_label(user)


class PeopleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user):
        return person_label(user)


def courses_field(label):
    return forms.ModelMultipleChoiceField(
        Course.objects.all(), required=False, label=label, widget=FilteredSelectMultiple("courses", is_stacked=False)
    )


class StudentAdminForm(forms.ModelForm):
    """The student's admin page: their courses are chosen here too (the course holds the link),
    and filling _("Consent given by") records consent when saved (StudentAdmin.save_model)."""

    courses = courses_field(_("Courses"))

    class Meta:
        model = Student
        fields = "__all__"
        help_texts = {"consent_given_by": GIVEN_BY_HELP}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["courses"].initial = self.instance.courses.all()
        if "user" in self.fields:
            self.fields["user"].label_from_instance = person_label

    def clean_consent_given_by(self):
        given_by = " ".join(self.cleaned_data["consent_given_by"].split())
        if self.instance.has_consent and not given_by:
            raise forms.ValidationError(
                gettext(
                    "Consent is recorded for this student: say who gave it. Clearing the name does not withdraw "
                    "consent: use “Withdraw consent” at the top of this page, which deletes their face data."
                )
            )
        return given_by

    def _save_m2m(self):
        super()._save_m2m()
        # A course added here counts for the student from today; the course's page sets other dates.
        self.instance.courses.set(self.cleaned_data["courses"], through_defaults={"starts_on": timezone.localdate()})


class ConsentForm(forms.Form):
    """The page the "Record consent" action asks on: whose consent it is."""

    given_by = forms.CharField(
        label=_("Consent given by"),
        max_length=200,
        validators=[refuse_control_characters],
        help_text=_("The students, or the guardians' consent form (its name)."),
    )


class TeacherInvitationForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), validators=[refuse_control_characters])
    # The e-mail is also the login name, which holds 150 characters.
    email = forms.EmailField(
        label=_("E-mail"), max_length=150, help_text=_("The invitation goes here; it is also their login name.")
    )
    courses = courses_field(_("Courses they teach"))

    def clean_full_name(self):
        full_name = self.cleaned_data["full_name"]
        User = get_user_model()
        for part, field in zip(split_full_name(full_name), ("first_name", "last_name"), strict=True):
            limit = User._meta.get_field(field).max_length
            if len(part) > limit:
                if field == "first_name":
                    message = _("The given names can have at most %(limit)d characters; this has %(length)d.")
                else:
                    message = _(
                        "The family name (the last word) can have at most %(limit)d characters; this has %(length)d."
                    )
                raise forms.ValidationError(message % {"limit": limit, "length": len(part)})
        return full_name

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        users = get_user_model().objects
        if users.filter(username__iexact=email).exists() or users.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                _("A login with this e-mail already exists: add them to courses on the course pages.")
            )
        return email


class LabelledSplitDateTime(AdminSplitDateTime):
    """The admin's date and time inputs of one field, each labelled by the word beside it
    ("Date:", "Time:"); Django's own leaves both without a label."""

    template_name = "students/widgets/split_datetime.html"
