"""Collections, genres, studios/networks and people in the admin (imported by catalog.admin).

Counts come from correlated subqueries, one query per page; members and credits are read-only
inlines with their links joined, so a 500-member collection is one query, not 500.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce

from catalog.models import (
    Collection,
    CollectionMember,
    Credit,
    Genre,
    Person,
    PlayableGenre,
    ShowGenre,
    Studio,
)


def _count(model, field: str):
    totals = model.objects.filter(**{field: OuterRef("pk")}).order_by().values(field).annotate(n=Count("pk"))
    return Coalesce(Subquery(totals.values("n"), output_field=IntegerField()), 0)


class CollectionMemberInline(admin.TabularInline):
    model = CollectionMember
    extra = 0
    can_delete = False
    fields = ("position", "kind", "title", "rating_key", "show", "season", "playable")
    readonly_fields = fields
    ordering = ("position",)

    def has_add_permission(self, request, obj=None):
        return False  # members come from Plex

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("show", "season__show", "playable")


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "library",
        "smart",
        "subtype",
        "child_count",
        "member_total",
        "state",
        "updated_at_plex",
    )
    list_filter = ("state", "smart", "subtype", "source")
    search_fields = ("title", "rating_key", "guid")
    list_select_related = ("library__source",)
    readonly_fields = (
        "source", "library", "rating_key", "guid", "smart", "smart_filter", "subtype", "child_count",
        "updated_at_plex", "members_synced_at", "created_at", "updated_at",
    )  # fmt: skip
    fields = ("title", "sort_title", "summary", "content_rating", "state", *readonly_fields)
    inlines = (CollectionMemberInline,)
    show_full_result_count = False

    def has_add_permission(self, request):
        return False  # collections come from Plex

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=_count(CollectionMember, "collection"))

    @admin.display(description="members synced", ordering="member_count")
    def member_total(self, collection):
        return collection.member_count


@admin.register(Genre)
class GenreAdmin(admin.ModelAdmin):
    list_display = ("name", "show_total", "item_total")
    search_fields = ("name",)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(show_count=_count(ShowGenre, "genre"), item_count=_count(PlayableGenre, "genre"))
        )

    @admin.display(description="shows", ordering="show_count")
    def show_total(self, genre):
        return genre.show_count

    @admin.display(description="movies and episodes", ordering="item_count")
    def item_total(self, genre):
        return genre.item_count


@admin.register(Studio)
class StudioAdmin(admin.ModelAdmin):
    list_display = ("name", "show_total")
    search_fields = ("name",)

    def get_queryset(self, request):
        from catalog.models import Show

        return super().get_queryset(request).annotate(show_count=_count(Show, "network"))

    @admin.display(description="shows on this network", ordering="show_count")
    def show_total(self, studio):
        return studio.show_count


class PersonCreditInline(admin.TabularInline):
    model = Credit
    extra = 0
    fields = ("role", "character", "show", "playable", "position")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("show", "playable")


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ("name", "credit_total", "plex_tag_key")
    search_fields = ("name",)
    inlines = (PersonCreditInline,)
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(credit_count=_count(Credit, "person"))

    @admin.display(description="credits", ordering="credit_count")
    def credit_total(self, person):
        return person.credit_count


class CreditInline(admin.TabularInline):
    """Cast and crew on a show, movie or episode page."""

    model = Credit
    extra = 0
    fields = ("role", "person", "character", "position")
    autocomplete_fields = ("person",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("person")


@admin.register(CollectionMember)
class CollectionMemberAdmin(admin.ModelAdmin):
    list_display = ("collection", "position", "kind", "title", "show", "season", "playable")
    list_filter = ("kind",)
    search_fields = ("title", "rating_key", "collection__title")
    list_select_related = ("collection", "show", "season__show", "playable")
    autocomplete_fields = ("collection", "show", "season", "playable")
    show_full_result_count = False

    def has_add_permission(self, request):
        return False  # members come from Plex


@admin.register(Credit)
class CreditAdmin(admin.ModelAdmin):
    list_display = ("person", "role", "character", "show", "playable", "position")
    list_filter = ("role",)
    search_fields = ("person__name", "character", "show__title", "playable__title")
    list_select_related = ("person", "show", "playable")
    autocomplete_fields = ("person", "show", "playable")
    show_full_result_count = False


@admin.register(ShowGenre)
class ShowGenreAdmin(admin.ModelAdmin):
    list_display = ("show", "genre", "position")
    list_filter = ("genre",)
    search_fields = ("show__title", "genre__name")
    list_select_related = ("show", "genre")
    autocomplete_fields = ("show", "genre")
    show_full_result_count = False


@admin.register(PlayableGenre)
class PlayableGenreAdmin(admin.ModelAdmin):
    list_display = ("playable", "genre", "position")
    list_filter = ("genre",)
    search_fields = ("playable__title", "genre__name")
    list_select_related = ("playable", "genre")
    autocomplete_fields = ("playable", "genre")
    show_full_result_count = False
