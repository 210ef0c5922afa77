"""Per-station and per-channel alert settings. They live in the alerts app (not on Channel) so that
scheduling knows nothing of alerts: alerts reads channels, never the other way round."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models

from alerts.choices import AttentionSignal, OnClear
from retrovue.fields import RasterImageField

# SAME/FIPS PSSCCC (6 digits) or NWS UGC SSFNNN (e.g. NYZ072, NYC061, NYZALL).
AREA_CODE = re.compile(r"^(?:[0-9]{6}|[A-Z]{2}[CZ](?:[0-9]{3}|ALL))$")
# §11.31(c): LLLLLLLL is eight characters; a call sign writes "/" where "-" would break the header.
EAS_STATION_ID = re.compile(r"^[A-Z0-9/ ]{1,8}$")


EAS_ORIGINATORS = [
    ("EAS", "EAS participant"),
    ("CIV", "Civil authorities"),
    ("WXR", "Weather service"),
    ("PEP", "Primary entry point"),
]


def parse_area_codes(text: str) -> list[str]:
    """Codes separated by commas or whitespace, upper-cased; an unknown shape is a clear error."""
    codes = [code.strip().upper() for code in re.split(r"[\s,;]+", text or "") if code.strip()]
    wrong = [code for code in codes if not AREA_CODE.fullmatch(code)]
    if wrong:
        raise ValidationError(
            f"Not an area code: {', '.join(wrong[:5])}. Use SAME/FIPS codes (6 digits, e.g. 036061) "
            "or NWS UGC codes (e.g. NYZ072, NYC061)."
        )
    return list(dict.fromkeys(codes))


def validate_area_codes(text: str) -> None:
    parse_area_codes(text)


class StationAlertSettings(models.Model):
    """The station's alert settings: one row (pk 1), created on first use."""

    attention_signal = models.CharField(
        max_length=20,
        choices=AttentionSignal.choices,
        default=AttentionSignal.STATION_TONE,
        help_text="EAS tones are only lawful for real emergencies and authorised tests (47 CFR §11.45): "
        "even when chosen here, Test and Exercise alerts carry the station tone.",
    )
    eas_originator = models.CharField(
        max_length=3,
        choices=EAS_ORIGINATORS,
        default="EAS",
        help_text="SAME header ORG code (§11.31(d)).",
    )
    eas_station_id = models.CharField(
        max_length=8, blank=True, help_text="SAME header LLLLLLLL: your call sign, '/' instead of '-'."
    )
    station_name = models.CharField(max_length=60, default="RetroVue", help_text="Shown on the alert slate.")
    logo = RasterImageField(
        upload_to="logos/", blank=True, help_text="Shown on the alert slate (PNG, JPEG, GIF, WebP)."
    )
    crawl_capacity = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="How many channels this box can crawl at once (a crawl re-encodes each channel live, "
        "about 0.2 core per SD channel); beyond it, channels get the slate. Blank: worked out from the "
        "box's cores and the measured cost (RETROVUE_ALERT_CRAWL_CORE_COST, RETROVUE_ALERT_CRAWL_CPU_SHARE).",
    )

    class Meta:
        verbose_name = "station alert settings"
        verbose_name_plural = "station alert settings"

    def __str__(self) -> str:
        return "Station alert settings"

    def clean(self):
        super().clean()
        if self.eas_station_id and not EAS_STATION_ID.fullmatch(self.eas_station_id):
            raise ValidationError({"eas_station_id": "Up to 8 capital letters, digits, '/' or spaces."})
        if self.attention_signal == AttentionSignal.EAS and not self.eas_station_id:
            raise ValidationError({"eas_station_id": "The SAME header needs the station's identification."})

    @classmethod
    def current(cls) -> StationAlertSettings:
        settings, _ = cls.objects.get_or_create(pk=1)
        return settings


class ChannelAlertSettings(models.Model):
    """What a channel covers (area codes an alert can target) and which non-real alerts it airs."""

    channel = models.OneToOneField(
        "scheduling.Channel", on_delete=models.CASCADE, related_name="alert_settings"
    )
    area_codes = models.TextField(
        blank=True,
        validators=[validate_area_codes],
        help_text="SAME/FIPS (036061) or UGC (NYZ072) codes this channel serves, separated by commas or spaces.",
    )
    airs_test_messages = models.BooleanField(
        default=False, help_text="Air CAP alerts whose status is Test or Exercise (never with EAS tones)."
    )
    on_clear = models.CharField(
        max_length=10,
        choices=OnClear.choices,
        default=OnClear.REJOIN,
        help_text="After a full-screen alert: rejoin the schedule at the clock, or resume the program it "
        "cut into, the rest of the day rippling later as a desk special does (the guide follows).",
    )

    class Meta:
        verbose_name = "channel alert settings"
        verbose_name_plural = "channel alert settings"

    def __str__(self) -> str:
        return f"Alert settings of {self.channel}"

    @property
    def codes(self) -> list[str]:
        return parse_area_codes(self.area_codes)
