"""Playout records in the admin: pre-generated pieces, channel runtime state, the playout workers
(one per machine) and the as-run log."""

from django.contrib import admin
from django.utils.html import format_html
from django.utils.timezone import localtime

from playout.models import AsRunEntry, ChannelRuntime, PlayoutWorker, PregenPiece
from retrovue.core.admin import ReadOnlyAdminMixin
from retrovue.core.formatting import format_bytes, format_duration_ms, format_local_short


@admin.register(PregenPiece)
class PregenPieceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "__str__",
        "playable",
        "special",
        "profile",
        "status",
        "cut",
        "size",
        "made",
        "next_air_at",
        "last_aired_at",
    )
    list_filter = ("status", "profile", "special")
    search_fields = ("playable__title", "path", "error")
    list_select_related = ("playable", "profile")
    show_full_result_count = False

    @admin.display(description="cut")
    def cut(self, piece):
        return f"{format_duration_ms(piece.in_ms)} → {format_duration_ms(piece.out_ms)}"

    @admin.display(description="size", ordering="size_bytes")
    def size(self, piece):
        return format_bytes(piece.size_bytes)

    @admin.display(description="made by", ordering="copied_frames")
    def made(self, piece):
        """Smart copy (with the share of frames copied from the source) or a full encode."""
        if piece.status != "ready":
            return "–"
        if not piece.copied_frames or not piece.duration_ms or not piece.frame_rate:
            return "encode"
        frames = piece.duration_ms * float(piece.frame_rate) / 1000
        return f"smart copy ({min(1.0, piece.copied_frames / frames):.0%} copied)"


@admin.register(ChannelRuntime)
class ChannelRuntimeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "channel",
        "state",
        "pid",
        "started_at",
        "restarts",
        "media_sequence",
        "last_segment_at",
        "lease_owner",
        "last_error",
    )
    list_filter = ("state",)
    list_select_related = ("channel",)


@admin.register(PlayoutWorker)
class PlayoutWorkerAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Written by the supervisors' heartbeats (docs/playout-machines.md); read-only here."""

    list_display = (
        "worker_id",
        "hostname",
        "channels",
        "load",
        "capacity",
        "draining",
        "last_seen_at",
        "origin",
    )
    list_filter = ("draining",)
    search_fields = ("worker_id", "hostname")


@admin.register(AsRunEntry)
class AsRunEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # Compact columns so the list fits a 1366-px screen: one full date, times of day, a short error.
    list_display = (
        "aired_at",
        "channel_number",
        "what",
        "origin",
        "scheduled",
        "aired_until",
        "late",
        "short_error",
    )
    list_filter = ("origin", "channel", "worker")
    search_fields = ("playable__title", "error")
    list_select_related = ("channel", "playable")
    date_hierarchy = "actual_start"
    show_full_result_count = False

    @admin.display(description="aired at", ordering="actual_start")
    def aired_at(self, entry):
        return format_local_short(entry.actual_start, seconds=True)

    @admin.display(description="ch.", ordering="channel__number")
    def channel_number(self, entry):
        return format_html('<span title="{}">{}</span>', entry.channel.name, entry.channel.number)

    @admin.display(description="aired", ordering="playable__title")
    def what(self, entry):
        title = entry.playable.title if entry.playable_id else "—"
        return _short(title, 40)

    @admin.display(description="scheduled", ordering="scheduled_start")
    def scheduled(self, entry):
        return f"{localtime(entry.scheduled_start):%H:%M:%S}–{localtime(entry.scheduled_stop):%H:%M:%S}"

    @admin.display(description="until", ordering="actual_stop")
    def aired_until(self, entry):
        return f"{localtime(entry.actual_stop):%H:%M:%S}" if entry.actual_stop else "–"

    @admin.display(description="late")
    def late(self, entry):
        seconds = (entry.actual_start - entry.scheduled_start).total_seconds()
        return f"{seconds:+.1f} s"

    @admin.display(description="error", ordering="error")
    def short_error(self, entry):
        if not entry.error:
            return "–"
        return format_html('<span title="{}">{}</span>', entry.error, _short(entry.error, 48))


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
