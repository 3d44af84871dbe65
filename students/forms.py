from django import forms
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from .models import WEEKDAYS, AttendanceRecord, ClassSession, SessionSeries
from .timetable import TimetableError, check_room_free_on, check_timetable, parse_skip_dates


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class ClassSessionForm(forms.ModelForm):
    """One session; its length and room are checked by the model (students/schedule.py)."""

    class Meta:
        model = ClassSession
        fields = ["starts_at", "ends_at", "room", "late_after_minutes"]
        labels = {"starts_at": _("Starts"), "ends_at": _("Ends"), "late_after_minutes": _("Late after (minutes)")}
        widgets = {"starts_at": LocalDateTimeInput(), "ends_at": LocalDateTimeInput()}
        help_texts = {"room": _("The rooms are the school's (an admin adds them).")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["room"].empty_label = _("No room")


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=AttendanceRecord.STATUS_CHOICES)
    reason = forms.CharField(max_length=300, required=False)


class SessionSeriesForm(forms.ModelForm):
    """A weekly timetable row; the course page and the admin both create sessions from it."""

    weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS,
        coerce=int,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "weekday"}),
        label=_("On"),
        error_messages={"required": _("Choose at least one weekday.")},
    )

    class Meta:
        model = SessionSeries
        fields = [
            "weekdays",
            "start_time",
            "end_time",
            "room",
            "late_after_minutes",
            "first_date",
            "last_date",
            "skip_dates",
        ]
        labels = {
            "start_time": _("Starts"),
            "end_time": _("Ends"),
            "late_after_minutes": _("Late after (minutes)"),
            "first_date": _("First date"),
            "last_date": _("Last date"),
            "skip_dates": _("No session on (holidays)"),
        }
        widgets = {
            "start_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "end_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "first_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "last_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "skip_dates": forms.Textarea(attrs={"rows": 2, "placeholder": "2026-10-26 to 2026-10-30, 2026-12-25"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["weekdays"] = self.instance.weekday_numbers
        if "room" in self.fields:
            self.fields["room"].empty_label = _("No room")

    def clean_weekdays(self):
        return "".join(str(day) for day in sorted(set(self.cleaned_data["weekdays"])))

    def clean_skip_dates(self):
        try:
            parse_skip_dates(self.cleaned_data["skip_dates"])
        except TimetableError as error:
            raise forms.ValidationError(str(error)) from None
        return self.cleaned_data["skip_dates"]

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            try:
                dates = check_timetable(
                    [int(day) for day in self.timetable_value("weekdays")],
                    self.timetable_value("start_time"),
                    self.timetable_value("end_time"),
                    self.timetable_value("first_date"),
                    self.timetable_value("last_date"),
                    self.timetable_value("skip_dates"),
                )
                made = set(self.instance.sessions.values_list("series_date", flat=True)) if self.instance.pk else set()
                check_room_free_on(
                    self.timetable_value("room"),
                    [day for day in dates if day not in made],
                    self.timetable_value("start_time"),
                    self.timetable_value("end_time"),
                )
            except TimetableError as error:
                self.add_error(error.field if error.field in self.fields else None, str(error))
        return cleaned

    def timetable_value(self, name):
        # The admin's change form shows what cannot change any more as text, not as fields.
        return self.cleaned_data[name] if name in self.fields else getattr(self.instance, name)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def term_label(series):
    """'7 Dec 2026 to 17 Jan 2027 (Mon, Wed 09:00)': short enough for a phone's select."""
    first, last = series.first_date, series.last_date
    return _("%(first)s to %(last)s (%(days)s %(time)s)") % {
        "first": date_format(first, "j M Y"),
        "last": date_format(last, "j M Y"),
        "days": series.weekday_names,
        "time": f"{series.start_time:%H:%M}",
    }


class AttendanceRangeForm(forms.Form):
    """The course page's filter (GET): a term of the course's timetable, or dates from and to.
    Empty: every session. The grid, the percentages and the CSV then count only these dates."""

    term = forms.TypedChoiceField(label=_("Term"), coerce=int, required=False, empty_value=None)
    start = forms.DateField(label=_("From"), required=False, widget=DateInput())
    end = forms.DateField(label=_("To"), required=False, widget=DateInput())

    def __init__(self, course, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.terms = {series.pk: series for series in course.session_series.all()}
        self.fields["term"].choices = [("", _("All the sessions"))] + [
            (pk, term_label(series)) for pk, series in self.terms.items()
        ]

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            raise forms.ValidationError(_("“To” is before “From”."))
        return data

    def date_range(self):
        """(first day or None, last day or None) of what the filter chose; (None, None) when it is
        empty or not valid (the page then says why and shows every session)."""
        if not self.is_valid():
            return None, None
        term = self.terms.get(self.cleaned_data["term"])
        if term is not None:
            return term.first_date, term.last_date
        return self.cleaned_data["start"], self.cleaned_data["end"]
