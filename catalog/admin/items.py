"""The catalog in the admin: the editing UI for sources, items and their scheduling metadata.

Lists are built for big libraries: related rows are joined (`list_select_related`), the full
result count is skipped, and foreign keys use autocomplete instead of giant select boxes.
"""

from __future__ import annotations

import threading

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.views.main import ChangeList
from django.contrib.humanize.templatetags.humanize import intcomma
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.template.defaultfilters import pluralize
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from catalog.admin import live as admin_live
from catalog.admin import plex_sign_in as admin_plex
from catalog.admin import sync as admin_sync
from catalog.admin.forms import MediaSourceForm, SchedulingMetadataForm
from catalog.admin.tags import CreditInline
from catalog.artwork.admin import ArtworkColumnMixin
from catalog.choices import SourceKind, SyncKind
from catalog.media.mapping_stats import mapping_stats
from catalog.models import (
    ChapterMark,
    Episode,
    ExternalId,
    Library,
    MediaFile,
    MediaSource,
    MediaStream,
    Movie,
    PathMapping,
    Playable,
    PlexMarker,
    Season,
    ShortFormItem,
    Show,
    SyncRun,
    WebhookEvent,
)
from catalog.plex.auth import check_connection
from catalog.plex.webhooks import webhook_url
from catalog.ratings import rank as rating_rank_of
from catalog.sync.triggers import request_sync
from retrovue.core.admin import ReadOnlyAdminMixin
from retrovue.core.formatting import format_bytes, format_duration_ms

SCHEDULING_FIELDSET = (
    "Scheduling",
    {
        "fields": (
            ("daypart", "seasonal_preference", "target_demographic"),
            ("category", "commercial_company", "expires_on"),
            "content_warnings",
            "notes",
        )
    },
)


@admin.action(description="Set scheduling metadata…")
def set_scheduling_metadata(modeladmin, request, queryset):
    """Bulk edit: an intermediate page with the metadata fields, applied to every selected item."""
    if "apply" in request.POST:
        form = SchedulingMetadataForm(request.POST)
        if form.is_valid():
            changes = form.changes()
            if "content_rating" in changes:  # update() skips save(), which keeps the rank in step
                changes["rating_rank"] = rating_rank_of(changes["content_rating"])
            updated = Playable.objects.filter(pk__in=queryset.values("pk")).update(**changes)
            fields = ", ".join(name.replace("_", " ") for name in changes)
            modeladmin.message_user(
                request, f"Set {fields} on {intcomma(updated)} item{pluralize(updated)}.", messages.SUCCESS
            )
            return None
    else:
        form = SchedulingMetadataForm()
    select_across = request.POST.get("select_across") == "1"
    # "Select all" re-runs the changelist's filtered query when the form is applied, so one id
    # (Django wants at least one) is enough; every id would break DATA_UPLOAD_MAX_NUMBER_FIELDS.
    selected_ids = queryset.values_list("pk", flat=True)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Set scheduling metadata",
        "opts": modeladmin.model._meta,
        "form": form,
        "selected_ids": list(selected_ids[:1] if select_across else selected_ids),
        "selected_count": queryset.count(),
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "action_name": "set_scheduling_metadata",
        "select_across": "1" if select_across else "0",
    }
    return TemplateResponse(request, "admin/catalog/set_scheduling_metadata.html", context)


class NarrowRowsChangeList(ChangeList):
    def get_queryset(self, request, exclude_parameters=None):
        return super().get_queryset(request, exclude_parameters).defer(*self.model_admin.list_defer)


class NarrowRowsMixin:
    """Lists leave out the long text columns no row shows (`list_defer`).

    A deep page sorts every matching row before its OFFSET; with a paragraph of summary in each
    row that sort spills from memory to disk.
    """

    list_defer: tuple[str, ...] = ()

    def get_changelist(self, request, **kwargs):
        return NarrowRowsChangeList


class DurationColumnMixin:
    @admin.display(description="length", ordering="duration_ms")
    def length(self, item):
        return format_duration_ms(item.duration_ms)


class LibraryListFilter(admin.RelatedFieldListFilter):
    """Filter by library; a library's name includes its source's, so fetch both in one query."""

    def field_choices(self, field, request, model_admin):
        ordering = self.field_admin_ordering(field, request, model_admin) or Library._meta.ordering
        return [
            (library.pk, str(library))
            for library in Library.objects.select_related("source").order_by(*ordering)
        ]


class PathMappingInline(admin.TabularInline):
    model = PathMapping
    extra = 0


class LibraryInline(admin.TabularInline):
    model = Library
    extra = 0
    fields = ("title", "kind", "section_key", "sync_enabled", "last_synced_at")
    readonly_fields = ("last_synced_at",)
    show_change_link = True


PLEX_SECTION = "Plex server"
FOLDER_SECTION = "Folder (TMM .nfo or plain media)"


@admin.register(MediaSource)
class MediaSourceAdmin(admin.ModelAdmin):
    form = MediaSourceForm
    list_display = (
        "name",
        "kind",
        "enabled",
        "location",
        "token_status",
        "sign_in",
        "sync_interval_minutes",
        "last_successful_sync_at",
        "live_status",
    )
    list_select_related = ("listener_state",)
    list_filter = ("kind", "enabled", "auth_state")
    search_fields = ("name", "base_url", "path")
    readonly_fields = (
        "token_status",
        "machine_identifier",
        "plex_webhook_url",
        "last_successful_sync_at",
        "last_error",
        "auth_state",
        "auth_checked_at",
        "auth_error",
        "live_updates",
    )
    inlines = (LibraryInline, PathMappingInline)
    _current = threading.local()  # the request being rendered, for absolute URLs
    fieldsets = (
        (None, {"fields": ("name", "kind", "enabled")}),
        (
            PLEX_SECTION,
            {
                "fields": (
                    "base_url",
                    "token_status",
                    ("auth_state", "auth_checked_at"),
                    "auth_error",
                    "token",
                    "clear_token",
                    "client_identifier",
                    "machine_identifier",
                    "paths_case_insensitive",
                    "allow_remote_playback",
                    "plex_webhook_url",
                )
            },
        ),
        (FOLDER_SECTION, {"fields": ("path", "include_subdirectories")}),
        (
            "Sync",
            {"fields": ("sync_interval_minutes", "last_successful_sync_at", "last_error", "live_updates")},
        ),
    )

    def get_fieldsets(self, request, obj=None):
        # The section the source's kind doesn't use starts folded, still there if staff change kind.
        if obj is None:
            return self.fieldsets
        unused = FOLDER_SECTION if obj.kind == SourceKind.PLEX else PLEX_SECTION
        return [
            (name, {**options, "classes": ("collapse",)}) if name == unused else (name, options)
            for name, options in self.fieldsets
        ]

    actions = ("sync_selected", "test_connection_selected")

    def get_urls(self):
        return (
            admin_plex.source_urls(self.admin_site)
            + admin_sync.source_urls(self.admin_site)
            + super().get_urls()
        )

    @admin.action(description="Test connection of selected Plex sources", permissions=["change"])
    def test_connection_selected(self, request, queryset):
        for source in queryset.filter(kind=SourceKind.PLEX):
            check = check_connection(source)
            self.message_user(
                request, f"{source}: {check.summary()}", messages.SUCCESS if check.ok else messages.ERROR
            )

    @admin.display(description="sign-in", ordering="auth_state")
    def sign_in(self, source):
        if source.kind != SourceKind.PLEX:
            return "–"
        if source.needs_sign_in:
            return format_html(
                '<a href="{}?source={}" style="color:#fff;background:#c62828;padding:1px 6px;border-radius:3px;">'
                "Needs sign-in</a>",
                reverse("admin:catalog_plex_add"),
                source.pk,
            )
        return source.get_auth_state_display()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._current.request = request
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="Plex webhook URL")
    def plex_webhook_url(self, source):
        request = getattr(self._current, "request", None)
        if source is None or source.pk is None or source.kind != SourceKind.PLEX or request is None:
            return "–"
        return format_html(
            '<code>{}</code><div class="help">Paste into Plex → Settings → Webhooks. Treat it like a '
            "password: anyone with it can start syncs.</div>",
            webhook_url(request, source),
        )

    @admin.action(description="Sync selected sources now (incremental)", permissions=["change"])
    def sync_selected(self, request, queryset):
        queued = 0
        for source in queryset.filter(enabled=True):
            _, newly = request_sync(source, SyncKind.INCREMENTAL, trigger="button")
            queued += newly
        self.message_user(request, f"Queued {queued} sync(s); see Sync runs for progress.", messages.SUCCESS)

    @admin.display(description="where")
    def location(self, source):
        return source.base_url or source.path

    @admin.display(description="live updates")
    def live_status(self, source):
        return admin_live.live_status(source)

    @admin.display(description="Live updates")
    def live_updates(self, source):
        return admin_live.live_updates(source)

    @admin.display(description="stored token")
    def token_status(self, source):
        # Says whether a token is set; the value itself is never rendered.
        if source.kind != "plex":
            return "–"
        return "set (hidden)" if source.has_token else "not set"


@admin.register(Library)
class LibraryAdmin(admin.ModelAdmin):
    list_display = ("title", "source", "kind", "section_key", "sync_enabled", "last_synced_at")
    list_filter = ("kind", "source", "sync_enabled")
    search_fields = ("title", "source__name")
    list_select_related = ("source",)
    autocomplete_fields = ("source",)
    readonly_fields = ("last_synced_at",)

    def get_urls(self):
        return admin_sync.library_urls(self.admin_site) + super().get_urls()


@admin.register(PathMapping)
class PathMappingAdmin(admin.ModelAdmin):
    """Each rule with the number of files it maps and how many of those are on this machine now."""

    _request_cache = threading.local()

    list_display = ("plex_prefix", "local_prefix", "source", "files_mapped", "files_present")
    list_filter = ("source",)
    search_fields = ("plex_prefix", "local_prefix")
    list_select_related = ("source",)
    autocomplete_fields = ("source",)
    readonly_fields = ("files_mapped", "files_present")

    def _stats(self, mapping):
        # Computed once per source per request: a page lists several rules of the same source.
        cache = getattr(self._request_cache, "stats", None)
        if cache is None:
            cache = self._request_cache.stats = {}
        if mapping.source_id not in cache:
            cache[mapping.source_id] = mapping_stats(mapping.source)
        return cache[mapping.source_id].get(mapping.plex_prefix)

    def changelist_view(self, request, extra_context=None):
        self._request_cache.stats = {}
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._request_cache.stats = {}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="files mapped")
    def files_mapped(self, mapping):
        stats = self._stats(mapping) if mapping.pk else None
        return stats.mapped if stats else 0

    @admin.display(description="present on disk")
    def files_present(self, mapping):
        stats = self._stats(mapping) if mapping.pk else None
        if not stats or not stats.mapped:
            return "–"
        return f"{stats.present} of {stats.mapped}"


class SeasonInline(admin.TabularInline):
    model = Season
    extra = 0
    fields = ("season_number", "title", "rating_key", "state")
    show_change_link = True


class ExternalIdInline(admin.TabularInline):
    model = ExternalId
    extra = 0
    fields = ("provider", "value", "owner_kind", "source")
    autocomplete_fields = ("source",)


@admin.register(Show)
class ShowAdmin(ArtworkColumnMixin, NarrowRowsMixin, admin.ModelAdmin):
    list_display = (
        "poster_and_title",  # the title column, poster inside: sort numbers (?o=2) stay
        "year",
        "source",
        "library",
        "content_rating",
        "studio",
        "episode_count",
        "state",
        "updated_at_plex",
    )
    list_filter = (
        "state", "source", ("library", LibraryListFilter), "content_rating",
        ("network", admin.RelatedOnlyFieldListFilter), "genre_tags",
    )  # fmt: skip
    search_fields = (
        "title", "sort_title", "rating_key", "primary_guid", "external_ids__value", "credits__person__name",
    )  # fmt: skip
    list_select_related = ("source", "library__source")
    list_defer = ("summary", "genres", "source__token", "library__source__token")
    autocomplete_fields = ("source", "library")
    readonly_fields = ("primary_guid", "updated_at_plex", "created_at", "updated_at", "artwork_preview")
    inlines = (SeasonInline, ExternalIdInline, CreditInline)
    show_full_result_count = False
    ordering = ("sort_title", "year")

    def get_queryset(self, request):
        # A correlated count per listed show; a Count() over a join would group every episode
        # of the library (and the paginator's COUNT would repeat that join) for each page.
        totals = Episode.objects.filter(show=OuterRef("pk")).order_by().values("show").annotate(n=Count("pk"))
        return (
            super()
            .get_queryset(request)
            .annotate(episode_total=Coalesce(Subquery(totals.values("n"), output_field=IntegerField()), 0))
        )

    @admin.display(description="episodes", ordering="episode_total")
    def episode_count(self, show):
        return show.episode_total


@admin.register(Season)
class SeasonAdmin(ArtworkColumnMixin, admin.ModelAdmin):
    list_display = ("__str__", "season_number", "show", "state", "artwork_thumbnail")
    list_filter = ("state",)
    search_fields = ("title", "show__title")
    list_select_related = ("show",)
    autocomplete_fields = ("show",)
    show_full_result_count = False


class MediaFileInline(admin.TabularInline):
    model = MediaFile
    extra = 0
    fields = ("position", "local_path", "state", "playable_ok", "container", "video_codec", "audio_codec")
    show_change_link = True


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


class ChapterMarkInline(admin.TabularInline):
    model = ChapterMark
    extra = 0
    fields = ("time_ms", "title", "origin")


class PlexMarkerInline(admin.TabularInline):
    model = PlexMarker
    extra = 0


class ChaptersLinkMixin:
    @admin.display(description="chapters")
    def chapters_link(self, item):
        return format_html(
            '<a href="{}">Chapters</a>', reverse("admin:catalog_item_chapters", args=[item.pk])
        )


class PlayableAdminBase(
    ArtworkColumnMixin, ChaptersLinkMixin, NarrowRowsMixin, DurationColumnMixin, admin.ModelAdmin
):
    """Shared by episodes, movies and short-form items: metadata filters, bulk metadata action."""

    actions = (set_scheduling_metadata,)
    list_defer = ("summary", "notes")
    list_per_page = 100
    show_full_result_count = False
    autocomplete_fields = ("source", "library")
    readonly_fields = (
        "kind",
        "primary_guid",
        "updated_at_plex",
        "created_at",
        "updated_at",
        "artwork_preview",
    )
    inlines = (MediaFileInline, ChapterMarkInline, PlexMarkerInline, CreditInline)


@admin.register(Episode)
class EpisodeAdmin(PlayableAdminBase):
    list_display = (
        "poster_and_title",  # the title column, poster inside: sort numbers (?o=2) stay
        "show_link",
        "code",
        "length",
        "content_rating",
        "daypart",
        "state",
        "updated_at_plex",
        "chapters_link",
    )
    list_filter = ("state", "source", "content_rating", "daypart", "seasonal_preference")
    search_fields = ("title", "show__title", "rating_key", "credits__person__name")
    list_select_related = ("show",)
    list_defer = ("summary", "notes", "show__summary", "show__genres")
    autocomplete_fields = ("source", "library", "show", "season")
    ordering = ("show__sort_title", "season_number", "episode_number")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "title",
                    "show",
                    "season",
                    ("season_number", "episode_number"),
                    "summary",
                    "artwork_preview",
                )
            },
        ),
        (
            "Source",
            {"fields": ("source", "library", "rating_key", "primary_guid", "updated_at_plex", "state")},
        ),
        ("Details", {"fields": ("content_rating", "duration_ms", "audience_rating", "originally_aired")}),
        SCHEDULING_FIELDSET,
    )

    @admin.display(description="show", ordering="show__sort_title")
    def show_link(self, episode):
        return str(episode.show)

    @admin.display(description="#", ordering="season_number")
    def code(self, episode):
        return episode.code


@admin.register(Movie)
class MovieAdmin(PlayableAdminBase):
    list_display = (
        "poster_and_title",  # the title column, poster inside: sort numbers (?o=2) stay
        "year",
        "length",
        "content_rating",
        "studio",
        "daypart",
        "seasonal_preference",
        "state",
        "chapters_link",
    )
    list_filter = (
        "state",
        "source",
        ("library", LibraryListFilter),
        "content_rating",
        "daypart",
        "seasonal_preference",
        ("production_studio", admin.RelatedOnlyFieldListFilter),
        "genre_tags",
    )
    search_fields = ("title", "sort_title", "rating_key", "primary_guid", "credits__person__name")
    ordering = ("sort_title", "year")
    fieldsets = (
        (None, {"fields": ("title", "year", "sort_title", "summary", "studio", "genres", "artwork_preview")}),
        (
            "Source",
            {"fields": ("source", "library", "rating_key", "primary_guid", "updated_at_plex", "state")},
        ),
        ("Details", {"fields": ("content_rating", "duration_ms", "audience_rating", "originally_released")}),
        SCHEDULING_FIELDSET,
    )


@admin.register(ShortFormItem)
class ShortFormItemAdmin(PlayableAdminBase):
    list_display = (
        "title",
        "kind",
        "length",
        "commercial_company",
        "category",
        "daypart",
        "seasonal_preference",
        "expires_on",
        "state",
        "chapters_link",
    )
    list_filter = (
        "kind",
        "state",
        "daypart",
        "seasonal_preference",
        "target_demographic",
        "source",
        "category",
    )
    search_fields = ("title", "commercial_company", "category", "notes")
    autocomplete_fields = ("source", "library", "promotes_show")
    readonly_fields = ("primary_guid", "updated_at_plex", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("title", "kind", "year", "summary", "promotes_show", "min_duration_ms")}),
        ("Source", {"fields": ("source", "library", "rating_key", "state")}),
        ("Details", {"fields": ("content_rating", "duration_ms")}),
        SCHEDULING_FIELDSET,
    )


@admin.register(Playable)
class PlayableAdmin(ReadOnlyAdminMixin, NarrowRowsMixin, DurationColumnMixin, admin.ModelAdmin):
    """Every airable item in one list, for metadata work across kinds (edit each on its own page)."""

    list_display = (
        "title",
        "kind",
        "length",
        "content_rating",
        "daypart",
        "seasonal_preference",
        "category",
        "state",
    )
    list_filter = (
        "kind",
        "state",
        "source",
        "content_rating",
        "daypart",
        "seasonal_preference",
        "target_demographic",
    )
    search_fields = ("title", "rating_key", "commercial_company", "category")
    actions = (set_scheduling_metadata,)
    list_per_page = 100
    list_defer = ("summary", "notes")
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        # Changing happens through the bulk action (which checks nothing else), not the form.
        return obj is None and request.user.has_perm("catalog.change_playable")


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
    readonly_fields = ("probed_at",)
    show_full_result_count = False
    inlines = (MediaStreamInline,)

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


@admin.register(ExternalId)
class ExternalIdAdmin(admin.ModelAdmin):
    list_display = ("uri", "owner_kind", "show", "playable", "source")
    list_filter = ("provider", "owner_kind", "source")
    search_fields = ("value", "show__title", "playable__title")
    list_select_related = ("show", "playable", "source")
    autocomplete_fields = ("show", "season", "playable", "source")
    show_full_result_count = False


@admin.register(ChapterMark)
class ChapterMarkAdmin(admin.ModelAdmin):
    list_display = ("playable", "at", "title", "origin")
    list_filter = ("origin",)
    search_fields = ("playable__title", "title")
    list_select_related = ("playable",)
    autocomplete_fields = ("playable",)
    show_full_result_count = False

    @admin.display(description="time", ordering="time_ms")
    def at(self, mark):
        return format_duration_ms(mark.time_ms)


@admin.register(PlexMarker)
class PlexMarkerAdmin(admin.ModelAdmin):
    list_display = ("playable", "kind", "start", "end")
    list_filter = ("kind",)
    search_fields = ("playable__title",)
    list_select_related = ("playable",)
    autocomplete_fields = ("playable",)

    @admin.display(description="start", ordering="start_ms")
    def start(self, marker):
        return format_duration_ms(marker.start_ms)

    @admin.display(description="end", ordering="end_ms")
    def end(self, marker):
        return format_duration_ms(marker.end_ms)


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "__str__",
        "progress_link",
        "source",
        "kind",
        "status",
        "trigger",
        "created_at",
        "took",
        "processed",
        "added",
        "updated",
        "removed",
        "skipped",
        "api_calls",
    )
    list_filter = ("status", "kind", "source")
    search_fields = ("source__name", "library__title", "error")
    list_select_related = ("source", "library")
    date_hierarchy = "created_at"
    show_full_result_count = False

    def get_urls(self):
        return admin_sync.sync_run_urls(self.admin_site) + super().get_urls()

    @admin.display(description="progress")
    def progress_link(self, run):
        label = f"{run.progress_done}/{run.progress_total}" if run.is_active else "details"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:catalog_syncrun_progress", args=[run.pk]), label
        )

    @admin.display(description="took")
    def took(self, run):
        seconds = run.duration_seconds
        return "–" if seconds is None else format_duration_ms(int(seconds * 1000))


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The webhook audit log: every call, accepted or not, and what it led to."""

    list_display = (
        "received_at",
        "source",
        "event",
        "section_key",
        "item_title",
        "outcome",
        "remote_address",
        "detail",
    )
    list_filter = ("outcome", "event", "source")
    search_fields = ("item_title", "detail", "remote_address")
    list_select_related = ("source",)
    date_hierarchy = "received_at"
    show_full_result_count = False
