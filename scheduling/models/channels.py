from __future__ import annotations

import re
import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from catalog.choices import Demographic
from catalog.models import Playable
from catalog.ratings import LIMIT_CHOICES
from retrovue.fields import RasterImageField
from scheduling.choices import BugCorner, VideoCodec, VideoMode

# ASCII digits only: Python's \d also matches ٣ or ３, which tuners and URLs would not agree on.
CHANNEL_NUMBER = re.compile(r"^[0-9]{1,4}(\.[0-9]{1,3})?$", re.ASCII)


def validate_channel_number(value: str) -> None:
    if not CHANNEL_NUMBER.fullmatch(value):
        raise ValidationError(
            f"{value!r} is not a channel number: use digits, optionally with a subchannel (7 or 7.1)."
        )


def channel_number_value(number: str) -> tuple[int, int]:
    """A channel number as a tuner reads it: 03 and 3 are one channel, and so are 7.0 and 7."""
    major, _, minor = number.partition(".")
    return int(major), int(minor or 0)


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{value!r} is not a time zone name such as America/New_York.") from None


class StreamProfile(models.Model):
    """How a channel's pieces are encoded: every piece on a channel matches it, so playout only copies."""

    name = models.CharField(max_length=60, unique=True)
    width = models.PositiveIntegerField(
        default=640, validators=[MinValueValidator(160), MaxValueValidator(3840)]
    )
    height = models.PositiveIntegerField(
        default=480, validators=[MinValueValidator(120), MaxValueValidator(2160)]
    )
    frame_rate = models.DecimalField(max_digits=6, decimal_places=3, default=29.97)
    video_bitrate_kbps = models.PositiveIntegerField(default=1500)
    audio_bitrate_kbps = models.PositiveIntegerField(default=128)
    segment_seconds = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text="HLS segment and GOP length.",
    )
    video_mode = models.CharField(
        max_length=20,
        choices=VideoMode.choices,
        default=VideoMode.SMART_COPY,
        help_text="Smart copy keeps a source's own compressed frames where its video already fits "
        "this profile (codec, size, frame rate, yuv420p, square pixels, no B-frames, keyframes at "
        "least every segment) and encodes only the frames before its first keyframe; a channel "
        "with a bug always encodes. Pass-through does the same at any source size.",
    )
    video_codec = models.CharField(
        max_length=10,
        choices=VideoCodec.choices,
        default=VideoCodec.H264,
        help_text="The channel's one codec: what it encodes to and which sources it can copy. "
        "HEVC plays in Safari, in Chrome and Edge with hardware decoding, and in VLC and Plex.",
    )
    preferred_audio_language = models.CharField(
        max_length=20,
        blank=True,
        help_text="Audio track to air when a file has several, e.g. eng, fre, de or French; "
        "else the file's default track.",
    )
    burn_forced_subtitles = models.BooleanField(
        default=True,
        help_text="Burn in a file's forced subtitles (foreign dialogue, signs) in that language, "
        "when they are text (SRT, ASS), embedded or a sidecar file.",
    )
    tracks_changed_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When the audio or subtitle choice, or the video mode or codec, last changed.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.width}×{self.height} @ {self.frame_rate})"

    def save(self, *args, **kwargs):
        # Pieces encoded before a change of track choice or video mode are encoded again (see playout.pregen).
        choice = tuple(getattr(self, field) for field in TRACK_FIELDS)
        before = (
            StreamProfile.objects.filter(pk=self.pk).values_list(*TRACK_FIELDS).first() if self.pk else None
        )
        if before is not None and before != choice:
            self.tracks_changed_at = timezone.now()
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "tracks_changed_at"}
        super().save(*args, **kwargs)


# A change of any of these makes the profile's pieces out of date: they are encoded again.
TRACK_FIELDS = ("preferred_audio_language", "burn_forced_subtitles", "video_mode", "video_codec")


def default_stream_profile_id() -> int:
    profile, _ = StreamProfile.objects.get_or_create(name="Retro SD 4:3")
    return profile.pk


class Channel(models.Model):
    """A TV channel: its number, look, rules and the schedule templates that fill it."""

    number = models.CharField(max_length=8, unique=True, validators=[validate_channel_number])
    name = models.CharField(max_length=100)
    call_sign = models.CharField(max_length=12, blank=True)
    logo = RasterImageField(
        upload_to="logos/", blank=True, help_text="PNG, JPEG, GIF or WebP; stored as PNG."
    )
    group = models.CharField(max_length=60, blank=True, default="RetroVue")
    time_zone = models.CharField(max_length=60, default="America/New_York", validators=[validate_time_zone])
    enabled = models.BooleanField(default=True)
    always_on = models.BooleanField(
        default=True, help_text="On air all the time; otherwise started on first viewer."
    )
    target_demographic = models.CharField(max_length=20, choices=Demographic.choices, blank=True)
    content_rating_limit = models.CharField(max_length=10, choices=LIMIT_CHOICES, blank=True)
    stream_profile = models.ForeignKey(
        StreamProfile, on_delete=models.PROTECT, related_name="channels", default=default_stream_profile_id
    )
    bug_image = RasterImageField(
        upload_to="bugs/", blank=True, help_text="PNG (with transparency), JPEG, GIF or WebP; stored as PNG."
    )
    bug_corner = models.CharField(max_length=12, choices=BugCorner.choices, default=BugCorner.BOTTOM_RIGHT)
    bug_opacity = models.DecimalField(
        max_digits=3, decimal_places=2, default=0.6, validators=[MinValueValidator(0), MaxValueValidator(1)]
    )
    seed = models.PositiveIntegerField(
        default=1, help_text="Same seed, templates and catalog → same schedule."
    )
    sign_off_at = models.TimeField(null=True, blank=True, help_text="Off the air from this time…")
    sign_on_at = models.TimeField(
        null=True, blank=True, help_text="…until this time (test pattern meanwhile)."
    )
    fallback_items = models.ManyToManyField(
        Playable,
        blank=True,
        related_name="fallback_for_channels",
        help_text="Aired where no template fills the time (e.g. filler reels); a slate if empty.",
    )

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def sort_key(self) -> tuple[int, int]:
        return channel_number_value(self.number)

    def clean(self):
        super().clean()
        if not self.number or not CHANNEL_NUMBER.fullmatch(self.number):
            return  # the field's own validator explains
        value = channel_number_value(self.number)
        for other in Channel.objects.exclude(pk=self.pk).values_list("number", flat=True):
            if CHANNEL_NUMBER.fullmatch(other) and channel_number_value(other) == value:
                raise ValidationError({"number": f"Channel {other} already has this number."})

    @property
    def xmltv_id(self) -> str:
        return f"{self.number}.retrovue"
