"""Media files and their audio and subtitle tracks in the admin."""

from __future__ import annotations

from django.contrib import admin

from catalog.admin.lists import NarrowRowsMixin
from catalog.models import MediaFile, MediaStream
from retrovue.core.admin import ReadOnlyAdminMixin
from retrovue.core.formatting import format_bytes, format_duration_ms


class MediaFileInline(admin.TabularInline):
    model = MediaFile
    extra = 0
    fields = ("position", "local_path", "state", "playable_ok", "container", "video_codec", "audio_codec")
    # Paths come from a sync under the operator's media roots, never from a form (issue 14).
    readonly_fields = ("local_path",)
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class MediaStreamInline(admin.TabularInline):
    """The file's audio and subtitle tracks, as Plex, ffprobe and sidecar files report them (read-only)."""

    model = MediaStream
    extra = 0
    can_delete = False
    fields = (
        "origin", "kind", "stream_index", "codec", "language", "language_code", "language_code_raw", "title",
        "display_title", "channels", "is_default", "forced", "hearing_impaired", "external", "key", "path",
    )  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(MediaFile)
class MediaFileAdmin(NarrowRowsMixin, admin.ModelAdmin):
    list_display = (
        "__str__",
        "item",
        "state",
        "playable_ok",
        "container",
        "video_codec",
        "resolution",
        "length",
        "size",
    )
    list_filter = ("state", "playable_ok", "container", "video_codec", "playable__source")
    search_fields = ("local_path", "plex_path", "playable__title")
    list_select_related = ("playable",)
    list_defer = ("probe_error", "playable__summary", "playable__notes")
    autocomplete_fields = ("playable",)
    # The paths are what the chapter editor serves and ffmpeg reads: they come from a sync under the
    # operator's media roots, never from a form, so no staff account can point them at a key file.
    readonly_fields = ("local_path", "plex_path", "probed_at")
    show_full_result_count = False
    inlines = (MediaStreamInline,)

    def has_add_permission(self, request):
        return False  # a file enters the catalog by a sync, with its path checked there

    # "item", not the field's name: the "playable" column is the ffprobe verdict (playable_ok).
    @admin.display(description="item", ordering="playable__title")
    def item(self, media_file):
        return media_file.playable

    @admin.display(description="resolution")
    def resolution(self, media_file):
        return f"{media_file.width}×{media_file.height}" if media_file.width and media_file.height else "–"

    @admin.display(description="length", ordering="duration_ms")
    def length(self, media_file):
        return format_duration_ms(media_file.duration_ms)

    @admin.display(description="size", ordering="size_bytes")
    def size(self, media_file):
        return format_bytes(media_file.size_bytes)


@admin.register(MediaStream)
class MediaStreamAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every audio and subtitle track: find the files with French audio, forced or sidecar subtitles."""

    list_display = ("__str__", "item", "origin", "codec", "language_code", "channels", "is_default", "forced")
    list_filter = ("kind", "origin", "language_code", "forced", "hearing_impaired", "external", "is_default")
    search_fields = ("media_file__playable__title", "language", "title", "media_file__local_path")
    list_select_related = ("media_file__playable",)
    show_full_result_count = False

    @admin.display(description="item", ordering="media_file__playable__title")
    def item(self, stream):
        return stream.media_file.playable
