"""Admin forms for scheduling: weekdays as checkboxes, validation that explains itself."""

from django import forms

from scheduling.models import TimeSlot
from scheduling.models.templates import WEEKDAYS


class TimeSlotForm(forms.ModelForm):
    days = forms.TypedMultipleChoiceField(
        choices=list(enumerate(WEEKDAYS)),
        coerce=int,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "rv-weekdays"}),
        help_text="Weekdays the slot airs on.",
    )

    class Meta:
        model = TimeSlot
        fields = (
            "title", "days", "start_time", "end_time", "content", "order", "shows", "movies", "collection",
            "repeat_spacing_days", "daypart",
        )  # fmt: skip

    def clean_days(self):
        return sorted(set(self.cleaned_data["days"]))
