from __future__ import annotations

from django.db import models
from django.db.models import Q

from catalog.choices import StreamKind, StreamOrigin
from catalog.models.media import MediaFile


class MediaStream(models.Model):
    """One audio, subtitle (or video) track of a media file, as Plex, ffprobe or a sidecar file reports it.

    Embedded tracks have their index in the container (`stream_index`); a sidecar subtitle (an .srt
    beside the video, or Plex's "External" subtitle) has none, and is found by its `path` or Plex `key`.
    The language code is normalised to ISO 639-2/B (`fre`, not `fra`) so channels can prefer a language;
    the source's own value is kept in `language_code_raw`.
    """

    media_file = models.ForeignKey(MediaFile, on_delete=models.CASCADE, related_name="streams")
    origin = models.CharField(max_length=8, choices=StreamOrigin.choices)
    kind = models.CharField(max_length=10, choices=StreamKind.choices)
    stream_index = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Index in the container; empty for sidecar files."
    )
    codec = models.CharField(max_length=40, blank=True)
    language = models.CharField(max_length=80, blank=True, help_text="Language name, e.g. English.")
    language_code = models.CharField(max_length=3, blank=True, help_text="ISO 639-2/B, e.g. eng, fre.")
    language_code_raw = models.CharField(max_length=20, blank=True)
    language_tag = models.CharField(max_length=20, blank=True, help_text="IETF tag, e.g. en, pt-BR.")
    title = models.CharField(max_length=200, blank=True)
    display_title = models.CharField(max_length=200, blank=True)
    channels = models.PositiveSmallIntegerField(null=True, blank=True)
    is_default = models.BooleanField("default", default=False)
    forced = models.BooleanField(default=False)
    hearing_impaired = models.BooleanField(default=False)
    external = models.BooleanField(default=False, help_text="A sidecar file rather than a track in the file.")
    key = models.CharField(max_length=300, blank=True, help_text="Plex stream key, for sidecar subtitles.")
    path = models.CharField(max_length=2048, blank=True, help_text="Local path of a sidecar file.")

    class Meta:
        ordering = ["media_file", "origin", "kind", "stream_index", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["media_file", "origin", "stream_index"],
                condition=Q(stream_index__isnull=False),
                name="media_stream_unique_index",
            ),
            models.CheckConstraint(
                name="media_stream_sidecar_has_no_index",
                condition=Q(external=False) | Q(stream_index__isnull=True),
            ),
        ]
        indexes = [models.Index(fields=["media_file", "kind"], name="media_stream_file_kind_idx")]

    def __str__(self) -> str:
        label = self.display_title or self.language or self.language_code or "Unknown"
        where = "external" if self.external else f"#{self.stream_index}"
        return f"{self.get_kind_display()} {where}: {label}"
