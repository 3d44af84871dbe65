from django import forms

from .models import AttendanceRecord, ClassSession


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class ClassSessionForm(forms.ModelForm):
    class Meta:
        model = ClassSession
        fields = ["starts_at", "ends_at", "room", "late_after_minutes"]
        labels = {"starts_at": "Starts", "ends_at": "Ends", "late_after_minutes": "Late after (minutes)"}
        widgets = {"starts_at": LocalDateTimeInput(), "ends_at": LocalDateTimeInput()}

    def clean(self):
        cleaned = super().clean()
        starts_at, ends_at = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts_at and ends_at and ends_at <= starts_at:
            self.add_error("ends_at", "The session must end after it starts.")
        return cleaned


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=AttendanceRecord.STATUS_CHOICES)
    reason = forms.CharField(max_length=300, required=False)
