"""Writes items' genres, credits and network/studio into the shared tag tables, in bulk.

Names become rows once (get-or-create by name for a whole batch at a time, cached for the run);
an item's links are replaced wholesale when the item is written, in the same transaction, so a
re-sync converges on the source's current list and order.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from catalog.models import Credit, Genre, Person, PlayableGenre, ShowGenre, Studio
from catalog.plex.parse import RemoteCredit, RemoteTags

BATCH_SIZE = 1000


class NameTable:
    """name → pk for one of Genre / Studio / Person, creating missing names in one statement."""

    def __init__(self, model, max_length: int):
        self.model = model
        self.max_length = max_length
        self.pks: dict[str, int] = {}

    def clean(self, name: str) -> str:
        return name.strip()[: self.max_length]

    def ensure(self, names: Iterable[str], extra: dict[str, dict] | None = None) -> None:
        wanted = {self.clean(name) for name in names} - {""} - set(self.pks)
        if not wanted:
            return
        self.pks.update(self.model.objects.filter(name__in=wanted).values_list("name", "pk"))
        missing = wanted - set(self.pks)
        if missing:
            extra = extra or {}
            self.model.objects.bulk_create(
                [self.model(name=name, **extra.get(name, {})) for name in sorted(missing)],
                ignore_conflicts=True,  # a parallel sync may create the same name
                batch_size=BATCH_SIZE,
            )
            self.pks.update(self.model.objects.filter(name__in=missing).values_list("name", "pk"))

    def pk(self, name: str) -> int | None:
        return self.pks.get(self.clean(name))


class TagWriter:
    """Replaces the tags of shows or playables (movies, episodes) of one batch."""

    def __init__(self):
        self.genres = NameTable(Genre, 100)
        self.studios = NameTable(Studio, 200)
        self.people = NameTable(Person, 200)

    def replace(
        self, owner: str, tags_by_pk: dict[int, RemoteTags], *, new_pks: frozenset[int] = frozenset()
    ) -> None:
        """`owner` is "show", "movie" or "episode"; each pk's links become exactly its tags.

        `new_pks` were created in this transaction and have no links to delete. Rows go in with
        plain INSERTs, not model instances: a full sync writes tens of thousands of credits."""
        if not tags_by_pk:
            return
        all_tags = list(tags_by_pk.values())
        self.genres.ensure(name for tags in all_tags for name in tags.genres)
        self.people.ensure(
            (credit.name for tags in all_tags for credit in tags.credits),
            extra=_person_details(credit for tags in all_tags for credit in tags.credits),
        )
        owner_field = "show_id" if owner == "show" else "playable_id"
        link_model = ShowGenre if owner == "show" else PlayableGenre
        existing = [pk for pk in tags_by_pk if pk not in new_pks]
        if existing:
            link_model.objects.filter(**{f"{owner_field}__in": existing}).delete()
            Credit.objects.filter(**{f"{owner_field}__in": existing}).delete()
        show_id = owner == "show"
        links, credits = [], []
        for pk, tags in tags_by_pk.items():
            seen_genres = set()
            for position, name in enumerate(tags.genres):
                genre_id = self.genres.pk(name)
                if genre_id is not None and genre_id not in seen_genres:
                    seen_genres.add(genre_id)
                    links.append((pk, genre_id, min(position, 32767)))
            seen_credits, positions = set(), {}
            for credit in tags.credits:
                person_id = self.people.pk(credit.name)
                if person_id is None or (credit.role, person_id) in seen_credits:
                    continue  # a person credited twice in one role (two characters) keeps the first
                seen_credits.add((credit.role, person_id))
                position = positions[credit.role] = positions.get(credit.role, -1) + 1
                credits.append(
                    (person_id, credit.role, credit.character[:300], min(position, 32767),
                     pk if show_id else None, None if show_id else pk)
                )  # fmt: skip
        _insert(link_model, [owner_field, "genre_id", "position"], links)
        _insert(Credit, ["person_id", "role", "character", "position", "show_id", "playable_id"], credits)

    def replace_if_changed(self, owner: str, pk: int, tags: RemoteTags) -> bool:
        """One item's tags (folder scans go item by item); True when they differed and were rewritten."""
        owner_field = "show_id" if owner == "show" else "playable_id"
        link_model = ShowGenre if owner == "show" else PlayableGenre
        stored_genres = list(
            link_model.objects.filter(**{owner_field: pk})
            .order_by("position")
            .values_list("genre__name", flat=True)
        )
        stored_credits = list(
            Credit.objects.filter(**{owner_field: pk})
            .order_by("role", "position")
            .values_list("role", "person__name", "character")
        )
        if stored_genres == _wanted_genres(tags) and stored_credits == _wanted_credits(tags):
            return False
        self.replace(owner, {pk: tags})
        return True

    def studio_pk(self, name: str) -> int | None:
        return self.studio_pks([name]).get(name) if name.strip() else None

    def studio_pks(self, names: Iterable[str]) -> dict[str, int]:
        names = list(names)
        self.studios.ensure(names)
        return {name: self.studios.pk(name) for name in names if self.studios.pk(name)}


def _person_details(credits: Iterable[RemoteCredit]) -> dict[str, dict]:
    details = {}
    for credit in credits:
        if credit.thumb.startswith(("http://", "https://")) or credit.tag_key:
            details.setdefault(
                credit.name.strip()[:200],
                {"thumb_url": credit.thumb[:500] if credit.thumb.startswith("http") else "",
                 "plex_tag_key": credit.tag_key[:40]},
            )  # fmt: skip
    return details


def _insert(model, columns: list[str], rows: list[tuple]) -> None:
    if not rows:
        return
    quote = connection.ops.quote_name
    statement = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(column) for column in columns)}) "  # noqa: S608  (names from model metadata)
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH_SIZE):
            cursor.executemany(statement, rows[start : start + BATCH_SIZE])


def _wanted_genres(tags: RemoteTags) -> list[str]:
    return list(dict.fromkeys(name.strip()[:100] for name in tags.genres if name.strip()))


def _wanted_credits(tags: RemoteTags) -> list[tuple[str, str, str]]:
    seen, wanted = set(), []
    for credit in tags.credits:
        name = credit.name.strip()[:200]
        if name and (credit.role, name) not in seen:
            seen.add((credit.role, name))
            wanted.append((credit.role, name, credit.character[:300]))
    return sorted(wanted, key=lambda entry: entry[0])  # stable: keeps billing order within a role
