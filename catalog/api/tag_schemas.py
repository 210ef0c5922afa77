"""API schemas for collections, genres, studios/networks, people and credits."""

from datetime import datetime
from typing import Annotated

from django.db.models import Q
from ninja import FilterLookup, FilterSchema, Schema

from catalog.models import Credit


def credited(owner_field: str, name: str) -> Q:
    """Rows where someone whose name contains `name` is credited; a subquery, so no duplicates."""
    return Q(pk__in=Credit.objects.filter(person__name__icontains=name).values(owner_field))


class CollectionOut(Schema):
    id: int
    source_id: int
    library_id: int | None
    rating_key: str
    guid: str
    title: str
    summary: str
    smart: bool
    smart_filter: str
    subtype: str
    child_count: int
    updated_at_plex: datetime | None
    state: str


class CollectionFilter(FilterSchema):
    source: Annotated[int | None, FilterLookup("source_id")] = None
    library: Annotated[int | None, FilterLookup("library_id")] = None
    title: Annotated[str | None, FilterLookup("title__icontains")] = None
    smart: bool | None = None
    state: str | None = None


class CollectionMemberOut(Schema):
    position: int
    rating_key: str
    kind: str
    title: str
    show_id: int | None
    season_id: int | None
    item_id: int | None

    @staticmethod
    def resolve_item_id(member) -> int | None:
        return member.playable_id


class NamedOut(Schema):
    id: int
    name: str


class NameFilter(FilterSchema):
    name: Annotated[str | None, FilterLookup("name__icontains")] = None


class PersonOut(NamedOut):
    thumb_url: str


class CreditOut(Schema):
    person_id: int
    person: str
    role: str
    character: str
    position: int

    @staticmethod
    def resolve_person(credit) -> str:
        return credit.person.name


class ShowTagFilter(FilterSchema):
    """Extra show filters: genre and network by exact name (any case), person by part of a name."""

    genre: Annotated[str | None, FilterLookup("genre_links__genre__name__iexact")] = None
    network: Annotated[str | None, FilterLookup("network__name__iexact")] = None
    person: str | None = None

    def filter_person(self, value: str | None) -> Q:
        return credited("show_id", value) if value else Q()


class MovieTagFilter(FilterSchema):
    genre: Annotated[str | None, FilterLookup("genre_links__genre__name__iexact")] = None
    studio: Annotated[str | None, FilterLookup("production_studio__name__iexact")] = None
    person: str | None = None

    def filter_person(self, value: str | None) -> Q:
        return credited("playable_id", value) if value else Q()


class EpisodeTagFilter(FilterSchema):
    person: str | None = None

    def filter_person(self, value: str | None) -> Q:
        return credited("playable_id", value) if value else Q()


__all__ = [
    "CollectionFilter",
    "CollectionMemberOut",
    "CollectionOut",
    "CreditOut",
    "EpisodeTagFilter",
    "MovieTagFilter",
    "NameFilter",
    "NamedOut",
    "PersonOut",
    "ShowTagFilter",
]
