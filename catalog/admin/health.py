"""Admin for sync health: per-item sync errors (the sync dashboard lives in catalog.admin.sync_dashboard)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q

from catalog.models import SyncItemError
from retrovue.core.admin import ReadOnlyAdminMixin


class OpenErrorFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "open"

    def lookups(self, request, model_admin):
        return [("1", "Open"), ("0", "Resolved")]

    def queryset(self, request, queryset):
        if self.value() == "1":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "0":
            return queryset.filter(~Q(resolved_at=None))
        return queryset


@admin.register(SyncItemError)
class SyncItemErrorAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "title_or_key",
        "item_kind",
        "source",
        "library",
        "error_kind",
        "attempts",
        "first_seen_at",
        "last_seen_at",
        "resolved_at",
        "short_message",
    )
    list_filter = (OpenErrorFilter, "error_kind", "item_kind", "source")
    search_fields = ("title", "item_key", "message")
    list_select_related = ("source", "library__source")  # a library names its source
    date_hierarchy = "last_seen_at"
    show_full_result_count = False
    readonly_fields = [field.name for field in SyncItemError._meta.fields]

    @admin.display(description="item", ordering="title")
    def title_or_key(self, error):
        return error.title or error.item_key

    @admin.display(description="message")
    def short_message(self, error):
        return (error.message[:100] + "…") if len(error.message) > 100 else error.message
