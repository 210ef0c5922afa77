"""Shows, seasons, episodes, movies and short-form items in the admin, with their scheduling
metadata (one at a time, or in bulk from a list), external ids and chapter marks.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.humanize.templatetags.humanize import intcomma
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.template.defaultfilters import pluralize
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from catalog.admin.forms import SchedulingMetadataForm
from catalog.admin.lists import DurationColumnMixin, LibraryListFilter, NarrowRowsMixin
from catalog.admin.media_files import MediaFileInline, MediaVersionInline
from catalog.admin.tags import CreditInline
from catalog.artwork.admin import ArtworkColumnMixin
from catalog.models import (
    ChapterMark,
    Episode,
    ExternalId,
    Movie,
    Playable,
    PlexMarker,
    Season,
    ShortFormItem,
    Show,
)
from catalog.ratings import rank as rating_rank_of
from retrovue.core.admin import ReadOnlyAdminMixin
from retrovue.core.formatting import format_duration_ms

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


class ChapterMarkInline(admin.TabularInline):
    model = ChapterMark
    extra = 0
    fields = ("time_ms", "title", "origin", "version")
    readonly_fields = ("version",)


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
    inlines = (MediaVersionInline, MediaFileInline, ChapterMarkInline, PlexMarkerInline, CreditInline)


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
