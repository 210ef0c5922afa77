"""Playout records in the admin: pre-generated pieces, channel runtime state and the as-run log."""

from django.contrib import admin

from playout.models import AsRunEntry, ChannelRuntime, PregenPiece
from retrovue.core.admin import ReadOnlyAdminMixin
from retrovue.core.formatting import format_bytes, format_duration_ms


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


@admin.register(AsRunEntry)
class AsRunEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "actual_start",
        "channel",
        "playable",
        "origin",
        "scheduled_start",
        "actual_stop",
        "error",
    )
    list_filter = ("origin", "channel")
    search_fields = ("playable__title", "error")
    list_select_related = ("channel", "playable")
    date_hierarchy = "actual_start"
    show_full_result_count = False
