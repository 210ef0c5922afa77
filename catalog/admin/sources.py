"""Media sources in the admin (Plex servers and folders), their libraries and path mappings: the
sign-in, sync and live-update pages hang from the source's page.
"""

from __future__ import annotations

import threading

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from catalog.admin import live, plex_sign_in, sync
from catalog.admin.forms import MediaSourceForm
from catalog.choices import SourceKind, SyncKind
from catalog.media.mapping_stats import mapping_stats
from catalog.models import Library, MediaSource, PathMapping
from catalog.plex.auth import check_connection
from catalog.plex.webhooks import webhook_url
from catalog.sync.triggers import request_sync


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
            plex_sign_in.source_urls(self.admin_site) + sync.source_urls(self.admin_site) + super().get_urls()
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
        return live.live_status(source)

    @admin.display(description="Live updates")
    def live_updates(self, source):
        return live.live_updates(source)

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
        return sync.library_urls(self.admin_site) + super().get_urls()


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
