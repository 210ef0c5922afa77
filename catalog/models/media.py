from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from catalog.choices import (
    PROVIDER_PRIORITY,
    ChapterOrigin,
    ExternalIdOwnerKind,
    ExternalIdProvider,
    FileState,
    MarkerKind,
)
from catalog.models.items import Playable, Season, Show
from catalog.models.sources import MediaSource


class MediaVersion(models.Model):
    """One version of an item (a Plex `<Media>`), e.g. the 4K and the 720p copy of one film.

    Its parts (MediaFile rows) play in order; two versions of an item are never played one after
    the other: one is chosen per channel profile (catalog.media.versions). `position` is Plex's
    order, 0 being the version Plex plays by default. Folder sources have no versions: their
    item's single file has none.
    """

    playable = models.ForeignKey(Playable, on_delete=models.CASCADE, related_name="versions")
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in which Plex lists it.")
    media_key = models.CharField(max_length=100, blank=True, help_text="Plex Media id.")
    container = models.CharField(max_length=40, blank=True)
    video_codec = models.CharField(max_length=40, blank=True)
    audio_codec = models.CharField(max_length=40, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveBigIntegerField(null=True, blank=True)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True, help_text="All its parts together.")
    pinned = models.BooleanField(
        default=False, help_text="Staff's choice: every channel airs this version of the item."
    )

    class Meta:
        ordering = ["playable", "position"]
        constraints = [
            models.UniqueConstraint(fields=["playable", "position"], name="media_version_unique_position"),
            models.UniqueConstraint(
                fields=["playable"], condition=Q(pinned=True), name="media_version_one_pin_per_item"
            ),
        ]

    def __str__(self) -> str:
        size = f"{self.width}×{self.height}" if self.width and self.height else "size unknown"
        return f"version {self.position + 1}: {self.video_codec or '?'} {size}"


class MediaFile(models.Model):
    """One file (a Plex Part) that plays a Playable; a multi-part version has several, in `position` order."""

    playable = models.ForeignKey(Playable, on_delete=models.CASCADE, related_name="files")
    version = models.ForeignKey(
        MediaVersion,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="parts",
        help_text="The version this file is a part of (none for folder sources).",
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="Order among its version's parts.")
    part_key = models.CharField(max_length=500, blank=True, help_text="Plex Part key, for remote playback.")
    plex_path = models.CharField(max_length=2048, blank=True, help_text="Path as the source reports it.")
    local_path = models.CharField(max_length=2048, blank=True, help_text="Path after path mapping.")
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    container = models.CharField(max_length=40, blank=True)
    video_codec = models.CharField(max_length=40, blank=True)
    audio_codec = models.CharField(max_length=40, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    frame_rate = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)
    duration_ms = models.PositiveBigIntegerField(null=True, blank=True)
    probed_at = models.DateTimeField(null=True, blank=True)
    playable_ok = models.BooleanField(
        "decodes", default=False, help_text="ffprobe found decodable audio/video in it."
    )
    probe_error = models.TextField(blank=True)
    state = models.CharField(max_length=16, choices=FileState.choices, default=FileState.UNAVAILABLE)

    class Meta:
        ordering = ["playable", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["playable", "position"],
                condition=Q(version__isnull=True),
                name="media_file_unique_position",
            ),
            models.UniqueConstraint(
                fields=["version", "position"],
                condition=Q(version__isnull=False),
                name="media_file_unique_part_position",
            ),
        ]
        indexes = [
            models.Index(fields=["state"], name="media_file_state_idx"),
            models.Index(fields=["local_path"], name="media_file_local_path_idx"),
        ]

    def __str__(self) -> str:
        return self.local_path or self.plex_path or f"part {self.part_key}"


class ExternalId(models.Model):
    """An id another database gives an item (tvdb://…, tmdb://…, imdb://tt…, plex://…).

    Unique per (source, owner kind, provider, value): within one source the same TVDB id cannot
    name two shows, while the same show coming from Plex and from a TMM folder may share it
    (that is how cross-source matches are found). Show ids and movie ids never collide because
    the owner kind is part of the key (TMDB numbers movies and series separately).
    """

    source = models.ForeignKey(MediaSource, on_delete=models.CASCADE, related_name="external_ids")
    owner_kind = models.CharField(max_length=16, choices=ExternalIdOwnerKind.choices)
    show = models.ForeignKey(
        Show, on_delete=models.CASCADE, null=True, blank=True, related_name="external_ids"
    )
    season = models.ForeignKey(
        Season, on_delete=models.CASCADE, null=True, blank=True, related_name="external_ids"
    )
    playable = models.ForeignKey(
        Playable, on_delete=models.CASCADE, null=True, blank=True, related_name="external_ids"
    )
    provider = models.CharField(max_length=8, choices=ExternalIdProvider.choices)
    value = models.CharField(max_length=200)

    class Meta:
        verbose_name = "external id"
        constraints = [
            models.UniqueConstraint(
                fields=["source", "owner_kind", "provider", "value"], name="external_id_unique_per_kind"
            ),
            models.CheckConstraint(
                name="external_id_has_exactly_one_owner",
                condition=(
                    Q(show__isnull=False, season__isnull=True, playable__isnull=True)
                    | Q(show__isnull=True, season__isnull=False, playable__isnull=True)
                    | Q(show__isnull=True, season__isnull=True, playable__isnull=False)
                ),
            ),
        ]
        indexes = [models.Index(fields=["provider", "value"], name="external_id_lookup_idx")]

    def __str__(self) -> str:
        return self.uri

    @property
    def uri(self) -> str:
        return f"{self.provider}://{self.value}"


def primary_external_id(ids: list[tuple[str, str]]) -> tuple[str, str] | None:
    """Pick the (provider, value) that identifies an item best: TVDB > TMDB > IMDB > Plex."""
    known = [(provider, value) for provider, value in ids if provider in PROVIDER_PRIORITY and value]
    if not known:
        return None
    return min(known, key=lambda pair: PROVIDER_PRIORITY[pair[0]])


class ChapterMark(models.Model):
    """A point in an item where a commercial break may fall."""

    playable = models.ForeignKey(Playable, on_delete=models.CASCADE, related_name="chapter_marks")
    version = models.ForeignKey(
        MediaVersion,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="chapter_marks",
        help_text="The version whose timeline it marks; none: every version (staff's marks, folder files).",
    )
    title = models.CharField(max_length=200, blank=True)
    time_ms = models.PositiveBigIntegerField()
    origin = models.CharField(max_length=10, choices=ChapterOrigin.choices, default=ChapterOrigin.MANUAL)

    class Meta:
        ordering = ["playable", "time_ms"]
        constraints = [
            models.UniqueConstraint(
                fields=["playable", "origin", "time_ms"],
                condition=Q(version__isnull=True),
                name="chapter_mark_unique_time",
            ),
            models.UniqueConstraint(
                fields=["version", "origin", "time_ms"],
                condition=Q(version__isnull=False),
                name="chapter_mark_unique_version_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title or 'Chapter'} @ {self.time_ms} ms"


class PlexMarker(models.Model):
    """A span Plex marked in an item (intro, credits), e.g. to skip a cold-open intro."""

    playable = models.ForeignKey(Playable, on_delete=models.CASCADE, related_name="markers")
    kind = models.CharField(max_length=12, choices=MarkerKind.choices)
    start_ms = models.PositiveBigIntegerField()
    end_ms = models.PositiveBigIntegerField()

    class Meta:
        ordering = ["playable", "start_ms"]
        constraints = [
            models.CheckConstraint(
                name="plex_marker_ends_after_start", condition=Q(end_ms__gte=F("start_ms"))
            ),
            models.UniqueConstraint(fields=["playable", "kind", "start_ms"], name="plex_marker_unique_start"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.start_ms}–{self.end_ms} ms"
