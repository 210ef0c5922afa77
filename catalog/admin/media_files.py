"""Media versions, files and their audio and subtitle tracks in the admin."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.forms.models import BaseInlineFormSet

from catalog.admin.lists import NarrowRowsMixin
from catalog.choices import FileState
from catalog.media.versions import apply_reference
from catalog.models import MediaFile, MediaStream, MediaVersion
from retrovue.core.admin import ReadOnlyAdminMixin
from retrovue.core.formatting import format_bytes, format_duration_ms


class MediaFileInline(admin.TabularInline):
    model = MediaFile
    extra = 0
    fields = (
        "version", "position", "local_path", "state", "playable_ok", "container", "video_codec", "audio_codec",
    )  # fmt: skip
    # Paths come from a sync under the operator's media roots, never from a form (issue 14).
    readonly_fields = ("version", "local_path")
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("version")


class PinFormSet(BaseInlineFormSet):
    """At most one pinned version per item; after a save the item takes its new version's length."""

    def clean(self):
        super().clean()
        pinned = [form for form in self.forms if getattr(form, "cleaned_data", {}).get("pinned")]
        if len(pinned) > 1:
            raise ValidationError("Pin one version at most: that is the version every channel airs.")

    def save(self, commit=True):
        if commit:
            # Unpin first, so moving the pin from one version to another never holds two at once.
            unpinned = [
                form.instance.pk
                for form in self.forms
                if form.instance.pk and not getattr(form, "cleaned_data", {}).get("pinned")
            ]
            MediaVersion.objects.filter(pk__in=unpinned).update(pinned=False)
        saved = super().save(commit)
        if commit and self.instance.pk:
            apply_reference([self.instance.pk])
        return saved


class MediaVersionInline(admin.TabularInline):
    """The item's versions (Plex's <Media>): which one airs is chosen per channel; staff may pin one."""

    model = MediaVersion
    formset = PinFormSet
    extra = 0
    can_delete = False
    fields = ("position", "pinned", "video_codec", "resolution", "length", "size", "parts_here")
    readonly_fields = ("position", "video_codec", "resolution", "length", "size", "parts_here")
    verbose_name_plural = "versions (pin one to air it on every channel; otherwise each channel picks)"

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        on_disk = Count("parts", filter=Q(parts__state=FileState.NORMAL))
        return super().get_queryset(request).annotate(part_count=Count("parts"), parts_on_disk=on_disk)

    @admin.display(description="resolution")
    def resolution(self, version):
        return f"{version.width}×{version.height}" if version.width and version.height else "–"

    @admin.display(description="length")
    def length(self, version):
        return format_duration_ms(version.duration_ms)

    @admin.display(description="size")
    def size(self, version):
        return format_bytes(version.size_bytes)

    @admin.display(description="parts on disk here")
    def parts_here(self, version):
        return f"{getattr(version, 'parts_on_disk', 0)} of {getattr(version, 'part_count', 0)}"


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


@admin.register(MediaVersion)
class MediaVersionAdmin(NarrowRowsMixin, admin.ModelAdmin):
    """Every version of every item; pin one to make every channel air it (see catalog.media.versions)."""

    list_display = ("__str__", "item", "pinned", "video_codec", "resolution", "length", "size")
    list_filter = ("pinned", "video_codec", "playable__source")
    search_fields = ("playable__title", "media_key")
    list_select_related = ("playable",)
    list_defer = ("playable__summary", "playable__notes")
    autocomplete_fields = ("playable",)
    readonly_fields = (
        "playable", "position", "media_key", "container", "video_codec", "audio_codec", "width", "height",
        "duration_ms", "size_bytes",
    )  # fmt: skip
    show_full_result_count = False

    def has_add_permission(self, request):
        return False  # versions come from the source's sync

    def save_model(self, request, obj, form, change):
        if obj.pinned:  # the one pin of its item moves here
            MediaVersion.objects.filter(playable_id=obj.playable_id, pinned=True).exclude(pk=obj.pk).update(
                pinned=False
            )
        super().save_model(request, obj, form, change)
        apply_reference([obj.playable_id])

    @admin.display(description="item", ordering="playable__title")
    def item(self, version):
        return version.playable

    @admin.display(description="resolution")
    def resolution(self, version):
        return f"{version.width}×{version.height}" if version.width and version.height else "–"

    @admin.display(description="length", ordering="duration_ms")
    def length(self, version):
        return format_duration_ms(version.duration_ms)

    @admin.display(description="size", ordering="size_bytes")
    def size(self, version):
        return format_bytes(version.size_bytes)
