"""Admin forms for the catalog."""

from __future__ import annotations

from django import forms

from catalog.choices import AuthState, Daypart, Demographic, SeasonalPreference
from catalog.models import MediaSource
from retrovue.core.media_roots import OutsideMediaRoots, require_inside_media_roots
from retrovue.core.outbound import PLEX_SERVERS, URLRefused

UNCHANGED = "__unchanged__"


class MediaSourceForm(forms.ModelForm):
    """The Plex token is write-only: the field is always rendered empty and left blank to keep it."""

    token = forms.CharField(
        label="New token",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Plex token. Stored encrypted; leave blank to keep the current one.",
    )
    clear_token = forms.BooleanField(required=False, help_text="Forget the stored token.")
    # Plex servers on a LAN answer plain HTTP; a bare "192.168.1.10:32400" means http://.
    base_url = forms.URLField(
        required=False, assume_scheme="http", help_text="Plex server URL, e.g. http://192.168.1.10:32400"
    )

    class Meta:
        model = MediaSource
        fields = (
            "name",
            "kind",
            "enabled",
            "base_url",
            "client_identifier",
            "paths_case_insensitive",
            "allow_remote_playback",
            "path",
            "include_subdirectories",
            "sync_interval_minutes",
        )
        # "retrovue-" and a UUID: wide enough to read whole.
        widgets = {"client_identifier": forms.TextInput(attrs={"size": 48})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Never hand the decrypted secret to the template, not even as an initial value.
        self.initial.pop("token", None)

    def clean_path(self):
        path = (self.cleaned_data.get("path") or "").strip()
        if path:
            try:
                require_inside_media_roots(path, "The folder")
            except OutsideMediaRoots as refusal:
                raise forms.ValidationError(str(refusal)) from None
        return path

    def clean_base_url(self):
        url = (self.cleaned_data.get("base_url") or "").strip()
        if url:
            try:
                PLEX_SERVERS.check(url)
            except URLRefused as refusal:
                raise forms.ValidationError(str(refusal)) from None
        return url

    def save(self, commit=True):
        source = super().save(commit=False)
        new_token = self.cleaned_data.get("token")
        if self.cleaned_data.get("clear_token") or new_token:
            source.token = new_token if not self.cleaned_data.get("clear_token") else ""
            # A new token earns a fresh chance: syncs paused for "needs sign-in" may run again.
            source.auth_state, source.auth_error, source.auth_checked_at = AuthState.UNKNOWN, "", None
        elif source.pk:
            source.token = MediaSource.objects.only("token").get(pk=source.pk).token
        if commit:
            source.save()
            self.save_m2m()
        return source


def _with_unchanged(choices):
    return [(UNCHANGED, "— leave unchanged —"), *choices]


class SchedulingMetadataForm(forms.Form):
    """Fields of the bulk "set scheduling metadata" action; untouched fields are left as they are."""

    daypart = forms.ChoiceField(choices=_with_unchanged(Daypart.choices), initial=UNCHANGED, required=False)
    seasonal_preference = forms.ChoiceField(
        choices=_with_unchanged(SeasonalPreference.choices), initial=UNCHANGED, required=False
    )
    target_demographic = forms.ChoiceField(
        choices=_with_unchanged(Demographic.choices), initial=UNCHANGED, required=False
    )
    content_rating = forms.CharField(required=False, max_length=40)
    set_content_rating = forms.BooleanField(required=False, label="Set content rating")
    category = forms.CharField(required=False, max_length=100)
    set_category = forms.BooleanField(required=False, label="Set category")
    commercial_company = forms.CharField(required=False, max_length=200)
    set_commercial_company = forms.BooleanField(required=False, label="Set commercial company")
    expires_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    set_expires_on = forms.BooleanField(required=False, label="Set expiry (blank clears it)")
    content_warnings = forms.CharField(required=False, max_length=300)
    set_content_warnings = forms.BooleanField(required=False, label="Set warnings")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    set_notes = forms.BooleanField(required=False, label="Set notes")

    CHOICE_FIELDS = ("daypart", "seasonal_preference", "target_demographic")
    TEXT_FIELDS = (
        "content_rating",
        "category",
        "commercial_company",
        "expires_on",
        "content_warnings",
        "notes",
    )

    def rows(self) -> list[tuple[forms.BoundField, forms.BoundField | None]]:
        """Each field with its "Set" box (None for the choice fields), in page order."""
        choices = [(self[name], None) for name in self.CHOICE_FIELDS]
        return choices + [(self[name], self[f"set_{name}"]) for name in self.TEXT_FIELDS]

    def changes(self) -> dict:
        """The Playable fields to update, from the fields staff chose to set."""
        data = self.cleaned_data
        changes = {name: data[name] for name in self.CHOICE_FIELDS if data.get(name, UNCHANGED) != UNCHANGED}
        for name in self.TEXT_FIELDS:
            if data.get(f"set_{name}"):
                value = data.get(name)
                changes[name] = value if value is not None else ("" if name != "expires_on" else None)
        return changes

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not self.changes():
            raise forms.ValidationError("Choose at least one field to set.")
        return cleaned
