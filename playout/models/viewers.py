from __future__ import annotations

from django.db import models

from scheduling.models import Channel


class ViewerKind(models.TextChoices):
    HLS = "hls", "HLS (recent segment requests)"
    TS = "ts", "MPEG-TS (open connections)"


class ViewerTally(models.Model):
    """How many viewers one serving process (a machine's TS fan-out server, a web process) counts
    on one channel, as of `refreshed_at`.

    Each source rewrites its own rows every few seconds; the station's figure for a channel is the
    sum over sources whose rows are fresh, so a machine that dies stops counting by itself once its
    rows go stale (see `playout.viewer_counts`)."""

    source = models.CharField(max_length=120, help_text="host:role of the process that counts.")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="viewer_tallies")
    kind = models.CharField(max_length=3, choices=ViewerKind.choices)
    viewers = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "channel", "kind"], name="viewer_tally_unique_source")
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.channel_id} {self.kind}={self.viewers}"
