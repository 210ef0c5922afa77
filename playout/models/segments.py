from __future__ import annotations

from django.db import models

from catalog.models import Playable
from scheduling.models import StreamProfile


class PregenStatus(models.TextChoices):
    PENDING = "pending", "Waiting to encode"
    ENCODING = "encoding", "Encoding"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class PregenPiece(models.Model):
    """A piece of an item, cut at its in/out points and encoded once to a stream profile.

    Reused whenever the same cut airs again with the same profile and the same channel bug (the bug
    is burned in, so it is part of the identity: `bug_key` is a digest of image, corner and
    opacity, blank for no bug; in a channel's last minute before a program, of the bug and the
    "Up next" band, see playout.up_next). Pieces without an item (slates, test patterns, station ID
    cards, whose `bug_key` names the card) have no playable.
    """

    playable = models.ForeignKey(
        Playable, on_delete=models.CASCADE, null=True, blank=True, related_name="pregen_pieces"
    )
    special = models.CharField(
        max_length=20, blank=True, help_text="slate / test_pattern for pieces without an item."
    )
    profile = models.ForeignKey(StreamProfile, on_delete=models.CASCADE, related_name="pregen_pieces")
    bug_key = models.CharField(max_length=32, blank=True)
    in_ms = models.PositiveIntegerField()
    out_ms = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=PregenStatus.choices, default=PregenStatus.PENDING)
    path = models.CharField(max_length=1024, blank=True, help_text="Relative to the pregen store.")
    duration_ms = models.PositiveIntegerField(
        null=True, blank=True, help_text="Measured length of the encoded file."
    )
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    video_codec = models.CharField(max_length=20, blank=True)
    audio_codec = models.CharField(max_length=20, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    frame_rate = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True)
    encode_seconds = models.FloatField(null=True, blank=True)
    copied_frames = models.PositiveIntegerField(
        default=0, help_text="Video frames copied from the source rather than encoded (smart copy)."
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    next_air_at = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text="Soonest scheduled airing."
    )
    last_aired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One row per cut, slates (no item) included: two planners must find the same row. Two
            # partial constraints rather than NULLS NOT DISTINCT, which SQLite cannot enforce.
            models.UniqueConstraint(
                fields=["playable", "special", "profile", "bug_key", "in_ms", "out_ms"],
                condition=models.Q(playable__isnull=False),
                name="pregen_piece_unique_cut",
            ),
            models.UniqueConstraint(
                fields=["special", "profile", "bug_key", "in_ms", "out_ms"],
                condition=models.Q(playable__isnull=True),
                name="pregen_piece_unique_special_cut",
            ),
            models.CheckConstraint(
                name="pregen_piece_out_after_in", condition=models.Q(out_ms__gt=models.F("in_ms"))
            ),
        ]
        indexes = [models.Index(fields=["status", "next_air_at"], name="pregen_status_next_idx")]

    def __str__(self) -> str:
        what = (self.playable_id and f"item {self.playable_id}") or self.special
        return f"{what} {self.in_ms}–{self.out_ms} ms ({self.get_status_display()})"
