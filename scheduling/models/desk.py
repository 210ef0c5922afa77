"""The programming desk's rows: what staff placed by hand on top of the templates, and the edit log
that undo and redo walk (see `scheduling.desk`)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from catalog.models import Playable
from scheduling.models.channels import Channel
from scheduling.models.templates import TimeSlot


class DeskEntry(models.Model):
    """A block placed by hand on one channel's schedule, over what the templates would air.

    *Programs*: one or more items in order (a movie, an episode moved here, a marathon of N
    episodes); *live*: a live source for the block's length; *cleared*: the block airs the channel's
    fallback (a deleted program); *interruption*: an emergency alert that took the channel off its
    schedule, after which the interrupted program resumes where it was cut (always a ripple, placed
    by `scheduling.resume`). In *replace* mode the block takes the place of what it overlaps;
    in *ripple* mode the template's programs from its start on are pushed later until `resume_at`,
    where the template takes over again (the builder applies both, `scheduling.ripple`).
    """

    class Kind(models.TextChoices):
        PROGRAMS = "programs", "Programs"
        LIVE = "live", "Live event"
        CLEARED = "cleared", "Cleared (fallback airs)"
        INTERRUPTION = "interrupt", "Interruption (the interrupted program resumes after it)"

    class Mode(models.TextChoices):
        REPLACE = "replace", "Replace what it overlaps"
        RIPPLE = "ripple", "Push the rest later (ripple)"

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="desk_entries")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PROGRAMS)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.REPLACE)
    start = models.DateTimeField()
    stop = models.DateTimeField(help_text="End of the block (programs get their time on the grid).")
    resume_at = models.DateTimeField(
        null=True, blank=True, help_text="Ripple: where the template takes over again."
    )
    item_ids = models.JSONField(default=list, blank=True, help_text="Items in air order (programs).")
    grid_minutes = models.PositiveSmallIntegerField(
        default=30, help_text="Each program's time rounds up to this many minutes."
    )
    title = models.CharField(max_length=300, blank=True, help_text="Guide title (marathons, live events).")
    description = models.TextField(blank=True)
    special = models.BooleanField(
        default=False, help_text="A special: marked new in the guide and promoted in the days before."
    )
    promo_ids = models.JSONField(
        default=list, blank=True, help_text="Promo clips for it, aired in breaks in the days before."
    )
    live_url = models.CharField(
        max_length=500, blank=True, help_text="Live source: HLS, SRT, RTMP or UDP URL."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["channel", "start"]
        verbose_name = "desk entry"
        verbose_name_plural = "desk entries"
        constraints = [
            models.CheckConstraint(
                name="desk_entry_ends_after_start", condition=models.Q(stop__gt=models.F("start"))
            )
        ]
        indexes = [models.Index(fields=["channel", "start"], name="desk_entry_channel_start_idx")]

    def __str__(self) -> str:
        return f"{self.channel.number} {self.start:%Y-%m-%d %H:%M} {self.title or self.get_kind_display()}"

    @property
    def reaches(self):
        """The last instant this entry changes: its end, or where a ripple hands back to the template."""
        return max(self.stop, self.resume_at) if self.resume_at else self.stop


class DeskEdit(models.Model):
    """One edit made on the desk: which entries it changed, as they were before and after.

    Undo writes `before` back, redo writes `after` (each a list of entry snapshots; a snapshot with
    only an id means the entry did not exist). `versions` are the channels' desk versions the edit
    produced, so an undo can tell whether someone changed those channels since.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    summary = models.CharField(max_length=300)
    channel_ids = models.JSONField(default=list)
    before = models.JSONField(default=list)
    after = models.JSONField(default=list)
    undone = models.BooleanField(default=False)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = "desk edit"

    def __str__(self) -> str:
        return self.summary


class DeskVersion(models.Model):
    """A channel's desk version: raised by every edit, so two editors can't overwrite each other."""

    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="desk_version")
    version = models.PositiveIntegerField(default=0)
    changed_by = models.CharField(max_length=150, blank=True)
    changed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.channel_id} v{self.version}"


class PreemptedProgram(models.Model):
    """A template program a desk entry took off the air (replaced, or pushed past a ripple's end).

    Kept so a slot's order goes on as if it had aired: the templates' plan stays the same around
    hand-placed blocks, whether a channel is built in one pass or a day at a time.
    """

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    slot = models.ForeignKey(TimeSlot, on_delete=models.CASCADE, related_name="+")
    playable = models.ForeignKey(Playable, on_delete=models.CASCADE, related_name="+")
    start = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["channel", "start"], name="preempted_channel_start_idx")]

    def __str__(self) -> str:
        return f"{self.channel_id} {self.start:%Y-%m-%d %H:%M} item {self.playable_id}"
