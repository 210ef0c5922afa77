from __future__ import annotations

from django.db import models

from catalog.models import Playable
from scheduling.choices import PieceKind, ProgramCategory
from scheduling.models.channels import Channel
from scheduling.models.desk import DeskEntry
from scheduling.models.templates import TimeSlot


class ProgramEntry(models.Model):
    """One program as the guide shows it (the coarse log): what starts when, for how long."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="programs")
    start = models.DateTimeField()
    stop = models.DateTimeField()
    playable = models.ForeignKey(
        Playable, on_delete=models.PROTECT, null=True, blank=True, related_name="programs"
    )
    slot = models.ForeignKey(
        TimeSlot, on_delete=models.SET_NULL, null=True, blank=True, related_name="programs"
    )
    title = models.CharField(max_length=300)
    subtitle = models.CharField(max_length=300, blank=True)
    description = models.TextField(blank=True)
    category = models.CharField(
        max_length=20, choices=ProgramCategory.choices, default=ProgramCategory.SERIES
    )
    content_rating = models.CharField(max_length=40, blank=True)
    season_number = models.PositiveIntegerField(null=True, blank=True)
    episode_number = models.PositiveIntegerField(null=True, blank=True)
    last_episode_number = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="A file holding several episodes: the last one's number (S01E01-E02).",
    )
    is_rerun = models.BooleanField(default=True)
    content_ms = models.PositiveIntegerField(
        default=0, help_text="Length of the program itself, without breaks (less when it is cut at a break)."
    )
    joined_from = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Joined in progress: the program began here (as on a station always on), airs from start.",
    )
    desk_entry = models.ForeignKey(
        DeskEntry, on_delete=models.SET_NULL, null=True, blank=True, related_name="programs"
    )
    special = models.BooleanField(default=False, help_text="Marked new and special in the guide.")

    class Meta:
        verbose_name = "program entry"
        verbose_name_plural = "program entries"
        ordering = ["channel", "start"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "start"], name="program_unique_start"),
            models.CheckConstraint(
                name="program_ends_after_start", condition=models.Q(stop__gt=models.F("start"))
            ),
        ]
        indexes = [models.Index(fields=["start", "stop"], name="program_window_idx")]

    def __str__(self) -> str:
        return f"{self.channel.number} {self.start:%Y-%m-%d %H:%M} {self.title}"

    @property
    def duration_ms(self) -> int:
        return int((self.stop - self.start).total_seconds() * 1000)


class Piece(models.Model):
    """One thing that airs (the fine log): an item between in and out points, at a wall-clock time."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="pieces")
    program = models.ForeignKey(ProgramEntry, on_delete=models.CASCADE, related_name="pieces")
    sequence = models.PositiveIntegerField()
    start = models.DateTimeField()
    stop = models.DateTimeField()
    kind = models.CharField(max_length=14, choices=PieceKind.choices)
    playable = models.ForeignKey(
        Playable, on_delete=models.PROTECT, null=True, blank=True, related_name="pieces"
    )
    in_ms = models.PositiveIntegerField(default=0)
    out_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["channel", "start"]
        constraints = [
            models.UniqueConstraint(fields=["program", "sequence"], name="piece_unique_sequence"),
            models.CheckConstraint(
                name="piece_ends_after_start", condition=models.Q(stop__gt=models.F("start"))
            ),
        ]
        indexes = [
            models.Index(fields=["channel", "start"], name="piece_channel_start_idx"),
            models.Index(fields=["playable", "start"], name="piece_playable_start_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.start:%H:%M:%S} {self.get_kind_display()}"

    @property
    def duration_ms(self) -> int:
        return self.out_ms - self.in_ms


class ScheduleWarning(models.Model):
    """Something the builder could not do as asked (shown to staff in the admin)."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="warnings")
    at = models.DateTimeField(help_text="Air time the problem concerns.")
    message = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["channel", "at"]

    def __str__(self) -> str:
        return self.message
