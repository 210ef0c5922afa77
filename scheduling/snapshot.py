"""What the builder may air, loaded once per build: plain tuples, no ORM objects in the hot loop.

Only airable items are loaded: active in their source, with a positive length, and with at least
one media file that can play (a local file, or a Part Plex can stream when the source allows
remote playback). Unavailable items are therefore never scheduled, whatever a template says.

Movies and shows that several sources hold (linked as one work by catalog matching) are one
program: `one_copy_per_work` keeps a single copy of each, the one with a local file if any.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import Coalesce

from catalog.choices import ContentKind, FileState, ItemState, SourceKind
from catalog.models import ChapterMark, Episode, MediaFile, Movie, ShortFormItem, WorkMember
from scheduling.multi_episode import fold_shared_files, shared_file_groups


@dataclass(frozen=True)
class Item:
    id: int
    kind: str
    title: str
    duration_ms: int
    content_rating: str = ""
    daypart: str = ""
    seasonal: str = ""
    company: str = ""
    category: str = ""
    expires_on: date | None = None
    demographic: str = ""
    show_id: int | None = None
    show_title: str = ""
    season: int | None = None
    episode: int | None = None
    summary: str = ""
    promotes_show_id: int | None = None
    rating_rank: int | None = None  # stored at sync (catalog.ratings); None = no rating = unrated
    # A file holding several episodes (scheduling.multi_episode): the last episode's number, and
    # every episode the one program stands for (the first is `id`).
    episode_last: int | None = None
    member_ids: tuple[int, ...] = ()


@dataclass
class CatalogSnapshot:
    episodes_by_show: dict[int, list[Item]] = field(default_factory=lambda: defaultdict(list))
    movies: dict[int, Item] = field(default_factory=dict)
    short_form: dict[str, list[Item]] = field(default_factory=lambda: defaultdict(list))
    items: dict[int, Item] = field(default_factory=dict)
    movie_work: dict[int, int] = field(default_factory=dict)  # linked movie → its work
    show_work: dict[int, int] = field(default_factory=dict)  # linked show → its work
    preferred_copy: dict[int, int] = field(default_factory=dict)  # work → the movie or show to air
    _chapters: dict[int, list[int]] = field(default_factory=dict)

    def one_copy_per_work(self, ids, work_of: dict[int, int]) -> list[int]:
        """`ids` with the copies of each linked work collapsed to one, in the order given.

        The preferred copy stands for its work when it is listed, else the first copy listed.
        """
        kept: list[int] = []
        position: dict[int, int] = {}
        for pk in ids:
            work = work_of.get(pk)
            if work is None:
                kept.append(pk)
            elif work not in position:
                position[work] = len(kept)
                kept.append(pk)
            elif self.preferred_copy.get(work) == pk:
                kept[position[work]] = pk
        return kept

    def chapters(self, playable_id: int) -> list[int]:
        if playable_id not in self._chapters:
            self.load_chapters([playable_id])
        return self._chapters[playable_id]

    def load_chapters(self, playable_ids) -> None:
        wanted = [pk for pk in playable_ids if pk not in self._chapters]
        if not wanted:
            return
        found = defaultdict(set)
        for pk, time_ms in ChapterMark.objects.filter(playable_id__in=wanted).values_list(
            "playable_id", "time_ms"
        ):
            found[pk].add(time_ms)
        for pk in wanted:
            self._chapters[pk] = sorted(found.get(pk, ()))


def _playable_file_exists():
    """A local file not known to be broken, or a Part Plex can stream, if its source allows that."""
    local = Q(state=FileState.NORMAL) & ~Q(probed_at__isnull=False, playable_ok=False)
    remote = Q(
        state=FileState.REMOTE_ONLY,
        playable__source__kind=SourceKind.PLEX,
        playable__source__allow_remote_playback=True,
    ) & ~Q(part_key="")
    return Exists(MediaFile.objects.filter(local | remote, playable_id=OuterRef("pk")))


def _local_file_exists():
    return Exists(MediaFile.objects.filter(playable_id=OuterRef("pk"), state=FileState.NORMAL))


def load_snapshot() -> CatalogSnapshot:
    snapshot = CatalogSnapshot()
    airable = {"state": ItemState.ACTIVE, "duration_ms__gt": 0}
    episodes = (
        Episode.objects.filter(**airable, show__state=ItemState.ACTIVE)
        .filter(_playable_file_exists())
        .order_by("show_id", "season_number", "episode_number", "pk")
        .values_list(
            "pk", "title", "duration_ms", "content_rating", "daypart", "seasonal_preference", "show_id",
            "show__title", "show__content_rating", "season_number", "episode_number", "summary",
            Coalesce("rating_rank", "show__rating_rank"),  # an episode without a rating has its show's
        )
    )  # fmt: skip
    for (
        pk,
        title,
        duration,
        rating,
        daypart,
        seasonal,
        show_id,
        show_title,
        show_rating,
        season,
        number,
        summary,
        rating_rank,
    ) in episodes:
        item = Item(
            pk, ContentKind.EPISODE, title, duration, rating or show_rating, daypart, seasonal,
            show_id=show_id, show_title=show_title, season=season, episode=number, summary=summary,
            rating_rank=rating_rank,
        )  # fmt: skip
        snapshot.episodes_by_show[show_id].append(item)
        snapshot.items[pk] = item
    _fold_multi_episode_files(snapshot)
    local_movies = set()
    movies = (
        Movie.objects.filter(**airable)
        .filter(_playable_file_exists())
        .annotate(local=_local_file_exists())
        .order_by("sort_title", "year", "pk")
        .values_list(
            "pk",
            "title",
            "duration_ms",
            "content_rating",
            "daypart",
            "seasonal_preference",
            "summary",
            "year",
            "rating_rank",
            "local",
        )
    )
    for pk, title, duration, rating, daypart, seasonal, summary, year, rating_rank, local in movies:
        if local:
            local_movies.add(pk)
        item = Item(
            pk,
            ContentKind.MOVIE,
            f"{title} ({year})" if year else title,
            duration,
            rating,
            daypart,
            seasonal,
            summary=summary,
            rating_rank=rating_rank,
        )
        snapshot.movies[pk] = item
        snapshot.items[pk] = item
    clips = (
        ShortFormItem.objects.filter(**airable)
        .filter(_playable_file_exists())
        .order_by("kind", "pk")
        .values_list(
            "pk", "kind", "title", "duration_ms", "content_rating", "daypart", "seasonal_preference",
            "commercial_company", "category", "expires_on", "target_demographic", "promotes_show_id", "rating_rank",
        )
    )  # fmt: skip
    for (
        pk,
        kind,
        title,
        duration,
        rating,
        daypart,
        seasonal,
        company,
        category,
        expires,
        demographic,
        promotes,
        rating_rank,
    ) in clips:
        item = Item(
            pk, kind, title, duration, rating, daypart, seasonal, company.strip().casefold(), category, expires,
            demographic, promotes_show_id=promotes, rating_rank=rating_rank,
        )  # fmt: skip
        snapshot.short_form[kind].append(item)
        snapshot.items[pk] = item
    _load_works(snapshot, local_movies)
    return snapshot


def _fold_multi_episode_files(snapshot: CatalogSnapshot) -> None:
    """Episodes that share a file become one program (scheduling.multi_episode)."""
    if not snapshot.episodes_by_show:
        return
    episode_files = MediaFile.objects.filter(playable__episode__isnull=False)
    # Only files that more than one episode points at matter; the database finds those.
    shared_paths = (
        episode_files.exclude(local_path="")
        .values("local_path")
        .annotate(episodes=Count("playable_id", distinct=True))
        .filter(episodes__gt=1)
        .values("local_path")
    )
    shared_parts = (
        episode_files.filter(local_path="")
        .exclude(part_key="")
        .values("part_key")
        .annotate(episodes=Count("playable_id", distinct=True))
        .filter(episodes__gt=1)
        .values("part_key")
    )
    file_of = shared_file_groups(
        episode_files.filter(
            Q(local_path__in=shared_paths) | Q(local_path="", part_key__in=shared_parts)
        ).values_list("playable_id", "local_path", "part_key")
    )
    for show_id, episodes in snapshot.episodes_by_show.items():
        folded, stands_for = fold_shared_files(episodes, file_of)
        if stands_for:
            snapshot.episodes_by_show[show_id] = folded
            snapshot.items.update(stands_for)


def _load_works(snapshot: CatalogSnapshot, local_movies: set[int]) -> None:
    """Which airable movies and shows are copies of one work, and which copy airs."""
    copies: dict[int, list[tuple]] = defaultdict(list)
    for work, movie, show in WorkMember.objects.values_list("work_id", "movie_id", "show_id"):
        if movie in snapshot.movies:
            snapshot.movie_work[movie] = work
            copies[work].append((movie not in local_movies, movie))  # a local file beats streaming
        elif show in snapshot.episodes_by_show:
            snapshot.show_work[show] = work
            copies[work].append((-len(snapshot.episodes_by_show[show]), show))  # the fuller copy
    for work, ranked in copies.items():
        snapshot.preferred_copy[work] = min(ranked)[1]
