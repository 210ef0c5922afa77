"""The compose form of the alert console."""

from django import forms

from alerts.choices import MessageStatus, Mode, Severity, Targeting
from alerts.models.alerts import PRIORITY_MAX
from alerts.services import AlertDraft
from scheduling.models import Channel


class ComposeForm(forms.Form):
    headline = forms.CharField(max_length=160, widget=forms.TextInput(attrs={"size": 80}))
    message = forms.CharField(required=False, max_length=10_000, widget=forms.Textarea(attrs={"rows": 4}))
    instruction = forms.CharField(required=False, max_length=10_000, widget=forms.Textarea(attrs={"rows": 2}))
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.SEVERE)
    priority = forms.IntegerField(min_value=0, max_value=PRIORITY_MAX, initial=50)
    status = forms.ChoiceField(
        choices=MessageStatus.choices,
        initial=MessageStatus.TEST,
        help_text="Actual only for a real emergency; Test and Exercise never carry EAS tones.",
    )
    ends_at = forms.DateTimeField(
        required=False, help_text="Empty: until cleared. UTC, e.g. 2026-12-05 07:30."
    )
    targeting = forms.ChoiceField(choices=Targeting.choices, initial=Targeting.ALL, widget=forms.RadioSelect)
    channels = forms.ModelMultipleChoiceField(
        queryset=Channel.objects.all(), required=False, widget=forms.SelectMultiple(attrs={"size": 8})
    )
    area_codes = forms.CharField(required=False, max_length=4000, help_text="SAME/FIPS or UGC codes.")
    mode = forms.ChoiceField(choices=Mode.choices, initial=Mode.SLATE)
    sender = forms.CharField(required=False, max_length=200, help_text="Default: your user name.")

    def draft(self) -> AlertDraft:
        data = self.cleaned_data
        return AlertDraft(
            headline=data["headline"],
            message=data["message"],
            instruction=data["instruction"],
            severity=data["severity"],
            priority=data["priority"],
            status=data["status"],
            ends_at=data["ends_at"],
            targeting=data["targeting"],
            channel_ids=[channel.pk for channel in data["channels"]],
            area_codes=data["area_codes"],
            mode=data["mode"],
            sender=data["sender"],
        )
