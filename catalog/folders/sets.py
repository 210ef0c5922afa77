"""Movie sets (`<set>` in a movie's .nfo) as collections, which schedule slots can draw from the way
they draw from Plex collections.

A set is known by its TMDB collection id when the .nfo gives one (`tmdbcolid`), else by its name;
its members are the movies whose .nfo names it, in release order. Rows are written only where
something differs, so an unchanged tree writes nothing. A scan of some paths only adds and moves
the movies it saw; a complete scan also drops members it no longer found and marks a set with no
member left removed (slots that draw from it stay valid and find nothing to air).

Part of `_FolderScan` (catalog.folders.scan), as the `MovieSets` mixin; the scan records each saved
movie's set in `movie_sets`.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction

from catalog.choices import ItemState, LibraryKind
from catalog.folders.nfo import NfoSet
from catalog.models import Collection, CollectionMember, MemberKind, Movie, sort_title_for

SET_KEY_PREFIX = "set:"


class MovieSets:
    """The collection steps of a `_FolderScan`."""

    def _save_movie_sets(self, *, complete: bool) -> None:
        sets: dict[str, NfoSet] = {}
        seen_members: dict[str, set[int]] = {}
        for movie_pk, movie_set in self.movie_sets.items():
            if movie_set is not None:
                # Movies of one set may describe it differently: the fullest description wins,
                # whatever order the files were read in.
                known = sets.get(movie_set.key)
                if known is None or _fullness(movie_set) > _fullness(known):
                    sets[movie_set.key] = movie_set
                seen_members.setdefault(movie_set.key, set()).add(movie_pk)
        existing = {
            collection.rating_key: collection
            for collection in Collection.objects.filter(
                source=self.source, rating_key__startswith=SET_KEY_PREFIX
            )
        }
        if not sets and not existing:
            return
        stored = {}
        for collection_id, playable_id in (
            CollectionMember.objects.filter(collection__in=existing.values())
            .order_by("position")
            .values_list("collection_id", "playable_id")
        ):
            stored.setdefault(collection_id, []).append(playable_id)
        with transaction.atomic():
            for key, movie_set in sets.items():
                collection = self._save_set_row(existing.get(key), key, movie_set)
                kept = [
                    pk
                    for pk in stored.get(collection.pk, [])
                    if pk is not None and not complete and pk not in self.movie_sets
                ]
                self._save_set_members(collection, [*kept, *seen_members[key]], stored.get(collection.pk, []))
            for key, collection in existing.items():
                if key in sets:
                    continue
                kept = [
                    pk
                    for pk in stored.get(collection.pk, [])
                    if pk is not None and not complete and pk not in self.movie_sets
                ]
                self._save_set_members(collection, kept, stored.get(collection.pk, []))
                if not kept and collection.state != ItemState.REMOVED:
                    Collection.objects.filter(pk=collection.pk).update(state=ItemState.REMOVED)

    def _save_set_row(self, collection: Collection | None, key: str, movie_set: NfoSet) -> Collection:
        desired = {
            "title": movie_set.name,
            "sort_title": sort_title_for(movie_set.name)[:300],
            "summary": movie_set.overview,
            "subtype": "movie",
            "library_id": self._library(LibraryKind.MOVIE).id,
            "state": ItemState.ACTIVE,
        }
        if collection is None:
            return Collection.objects.create(source=self.source, rating_key=key, **desired)
        changed = [name for name, value in desired.items() if getattr(collection, name) != value]
        if changed:
            for name in changed:
                setattr(collection, name, desired[name])
            collection.save(update_fields=[*changed, "updated_at"])
        return collection

    def _save_set_members(self, collection: Collection, movie_pks, stored: list) -> None:
        movies = sorted(
            Movie.objects.filter(pk__in=set(movie_pks)),
            key=lambda movie: (
                movie.originally_released or _far_future(movie.year),
                movie.sort_title,
                movie.pk,
            ),
        )
        wanted = [movie.pk for movie in movies]
        if wanted == stored:
            return
        CollectionMember.objects.filter(collection=collection).delete()
        CollectionMember.objects.bulk_create(
            CollectionMember(
                collection=collection,
                position=position,
                rating_key=movie.rating_key,
                kind=MemberKind.MOVIE,
                title=movie.title,
                playable=movie,
            )
            for position, movie in enumerate(movies)
        )
        if collection.child_count != len(movies):
            Collection.objects.filter(pk=collection.pk).update(child_count=len(movies))


def _far_future(year: int | None) -> date:
    """A movie known only by its year sorts at that year's end; one with neither sorts last."""
    return date(year, 12, 31) if year else date.max


def _fullness(movie_set: NfoSet) -> tuple:
    return (len(movie_set.overview), len(movie_set.name), movie_set.name)
