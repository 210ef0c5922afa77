"""/api/scheduling/desk/: the programming desk's timeline and its edits, for the timeline page and
for scripts (staff session or `Authorization: Bearer rv_…`).

Permissions are the admin's: reading needs `scheduling.view_deskentry`, placing `add_deskentry`,
moving and resizing `change_deskentry`, deleting `delete_deskentry` (undo and redo need change).
Every edit may name the desk versions of the channels it read (`versions`, channel id → version,
from the timeline); if one changed since, the edit is refused with 409 and nothing is saved.
A refused edit answers 422 with the reason in `detail`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from catalog.choices import ItemState
from catalog.models import Collection, CollectionMember, Episode, Movie, Show
from retrovue.core.api_permissions import requires
from scheduling import desk
from scheduling.desk_timeline import timeline
from scheduling.models import Channel, DeskEntry, ProgramEntry

router = Router(tags=["programming desk"])
SEARCH_LIMIT = 25
MAX_WINDOW = timedelta(days=8)


def _versions(raw: dict[str, int] | None) -> dict[int, int] | None:
    if raw is None:
        return None
    try:
        return {int(key): int(value) for key, value in raw.items()}
    except (TypeError, ValueError):
        raise HttpError(422, "versions maps channel ids to version numbers.") from None


def _run(action):
    try:
        result = action()
    except desk.Conflict as conflict:
        raise HttpError(409, str(conflict)) from None
    except desk.Refused as refusal:
        raise HttpError(422, str(refusal)) from None
    return {
        "edit_id": result.edit.pk if result.edit else None,
        "summary": result.summary or (result.edit.summary if result.edit else ""),
        "changed_from": {str(key): value for key, value in result.changed_from.items()},
        "versions": {str(key): value for key, value in result.versions.items()},
    }


# --- Schemas --------------------------------------------------------------------------------------


class EditOut(Schema):
    edit_id: int | None
    summary: str
    changed_from: dict[str, datetime] = Field(description="Channel id → where its log changed.")
    versions: dict[str, int] = Field(description="Channel id → its desk version after the edit.")


class EntryOut(Schema):
    id: int
    channel_id: int
    kind: str
    mode: str
    start: datetime
    stop: datetime
    resume_at: datetime | None
    item_ids: list[int]
    grid_minutes: int
    title: str
    description: str
    special: bool
    promo_ids: list[int]
    live_url: str


class EntryIn(Schema):
    channel_ids: list[int] = Field(description="One or more channels; the entry is placed on each.")
    start: datetime
    kind: str = DeskEntry.Kind.PROGRAMS
    item_ids: list[int] = Field(default_factory=list, description="Movies or episodes, in air order.")
    show_id: int | None = Field(None, description="Instead of items: episodes of this show…")
    from_episode_id: int | None = Field(None, description="…from this episode (default: its first)…")
    episode_count: int = Field(1, ge=1, le=200, description="…this many.")
    collection_id: int | None = Field(
        None, description="Instead of items: a collection's movies and episodes."
    )
    stop: datetime | None = Field(None, description="End of the block (default: what its programs need).")
    mode: str = DeskEntry.Mode.REPLACE
    resume_at: datetime | None = Field(None, description="Ripple: where the template takes over again.")
    grid_minutes: int = 30
    title: str = ""
    description: str = ""
    special: bool = False
    promo_ids: list[int] = Field(default_factory=list)
    live_url: str = ""
    versions: dict[str, int] | None = None


class MoveIn(Schema):
    channel_id: int
    start: datetime
    versions: dict[str, int] | None = None


class ResizeIn(Schema):
    stop: datetime
    versions: dict[str, int] | None = None


class EntryPatch(Schema):
    stop: datetime | None = None
    resume_at: datetime | None = None
    title: str | None = None
    special: bool | None = None
    versions: dict[str, int] | None = None


class TimelineQuery(Schema):
    start: datetime | None = Field(None, description="Default: the start of today (staff's zone).")
    stop: datetime | None = Field(None, description="Default: a day after start.")
    channels: str | None = Field(None, description="Comma-separated channel ids (default: all enabled).")
    breaks: bool = Field(
        True, description="Include each program's breaks (the whole-day view leaves them out)."
    )
    row_start: int = Field(
        0, ge=0, le=100_000, description="Of the enabled channels in number order, from this one…"
    )
    rows: int | None = Field(None, ge=1, le=1000, description="…this many (default: all).")


class SearchResult(Schema):
    kind: str
    id: int
    title: str
    detail: str
    minutes: int
    item_ids: list[int]


# --- Reading --------------------------------------------------------------------------------------


@router.get("/timeline", summary="Channels (with desk versions), programs with their breaks, gaps, warnings")
@requires("scheduling.view_deskentry")
def get_timeline(request, query: Query[TimelineQuery]):
    start = (
        desk.aware(query.start)
        if query.start
        else timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    )
    stop = desk.aware(query.stop) if query.stop else start + timedelta(days=1)
    if not start < stop <= start + MAX_WINDOW:
        raise HttpError(422, "stop must be after start, at most 8 days on.")
    channel_ids = None
    if query.channels:
        try:
            channel_ids = [int(part) for part in query.channels.split(",") if part.strip()]
        except ValueError:
            raise HttpError(422, "channels is a comma-separated list of ids.") from None
    return timeline(start, stop, channel_ids, breaks=query.breaks, rows=(query.row_start, query.rows))


@router.get("/entries", response=list[EntryOut], summary="Desk entries overlapping [start, stop)")
@requires("scheduling.view_deskentry")
def list_entries(
    request, start: datetime | None = None, stop: datetime | None = None, channel_id: int | None = None
):
    entries = DeskEntry.objects.order_by("start", "pk")
    if channel_id is not None:
        entries = entries.filter(channel_id=channel_id)
    if start is not None:
        start = desk.aware(start)
        entries = entries.filter(Q(stop__gt=start) | Q(resume_at__gt=start))
    if stop is not None:
        entries = entries.filter(start__lt=desk.aware(stop))
    return list(entries[:2000])


@router.get(
    "/search", response=list[SearchResult], summary="Shows, episodes, movies and collections to place"
)
@requires("scheduling.view_deskentry")
def search(request, q: str = "", kind: str = ""):
    q = q.strip()[:100]
    if len(q) < 2:
        return []
    found: list[dict] = []
    active = {"state": ItemState.ACTIVE}
    if kind in ("", "movie"):
        for movie in Movie.objects.filter(title__icontains=q, **active).order_by("sort_title")[:SEARCH_LIMIT]:
            found.append(
                _result("movie", movie.pk, str(movie), movie.content_rating, movie.duration_ms, [movie.pk])
            )
    if kind in ("", "show"):
        for show in Show.objects.filter(title__icontains=q, **active).order_by("sort_title")[:SEARCH_LIMIT]:
            first = show.episodes.filter(**active).order_by("season_number", "episode_number").first()
            found.append(_result("show", show.pk, str(show), "next: first episode", first.duration_ms if first else 0,
                                 [first.pk] if first else []))  # fmt: skip
    if kind in ("", "episode"):
        episodes = Episode.objects.filter(Q(title__icontains=q) | Q(show__title__icontains=q), **active)
        for episode in episodes.select_related("show").order_by(
            "show__sort_title", "season_number", "episode_number"
        )[:SEARCH_LIMIT]:
            label = (
                f"{episode.show.title} S{episode.season_number or 0:02d}E{episode.episode_number or 0:02d}"
            )
            found.append(
                _result(
                    "episode", episode.pk, f"{label} {episode.title}", "", episode.duration_ms, [episode.pk]
                )
            )
    if kind in ("", "collection"):
        for collection in Collection.objects.filter(title__icontains=q, state=ItemState.ACTIVE)[
            :SEARCH_LIMIT
        ]:
            members = list(
                CollectionMember.objects.filter(collection=collection, playable__isnull=False)
                .order_by("position")
                .values_list("playable_id", "playable__duration_ms")[:50]
            )
            found.append(_result("collection", collection.pk, collection.title, f"{len(members)} items",
                                 sum(ms or 0 for _, ms in members), [pk for pk, _ in members]))  # fmt: skip
    return found


def _result(kind, pk, title, detail, duration_ms, item_ids) -> dict:
    return {"kind": kind, "id": pk, "title": title, "detail": detail, "minutes": (duration_ms or 0) // 60_000,
            "item_ids": item_ids}  # fmt: skip


# --- Editing --------------------------------------------------------------------------------------


def episodes_from(show_id: int, from_episode_id: int | None, count: int) -> list[int]:
    """ "N episodes of a show from episode X", in season and episode order."""
    episodes = list(
        Episode.objects.filter(show_id=show_id, state=ItemState.ACTIVE)
        .order_by("season_number", "episode_number", "pk")
        .values_list("pk", flat=True)
    )
    if not episodes:
        raise HttpError(422, "That show has no episodes that can air.")
    first = episodes.index(from_episode_id) if from_episode_id in episodes else 0
    if from_episode_id is not None and from_episode_id not in episodes:
        raise HttpError(422, "That episode is not one of the show's.")
    return episodes[first : first + count]


@router.post(
    "/entries", response={200: EditOut}, summary="Place programs, a marathon, a live event or cleared time"
)
@requires("scheduling.add_deskentry")
def create_entry(request, payload: EntryIn):
    item_ids = list(payload.item_ids)
    if payload.show_id is not None:
        item_ids = episodes_from(payload.show_id, payload.from_episode_id, payload.episode_count)
    elif payload.collection_id is not None:
        item_ids = list(
            CollectionMember.objects.filter(
                collection_id=payload.collection_id, playable__kind__in=["movie", "episode"]
            )
            .order_by("position")
            .values_list("playable_id", flat=True)
        )
    if payload.kind not in DeskEntry.Kind.values or payload.mode not in DeskEntry.Mode.values:
        raise HttpError(422, "Unknown kind or mode.")
    if payload.kind == DeskEntry.Kind.INTERRUPTION:  # placed by an alert as it ends, never by hand
        raise HttpError(422, "Interruptions are placed by emergency alerts, not on the desk.")
    channels = list(Channel.objects.filter(pk__in=payload.channel_ids))
    if not channels or len(channels) != len(set(payload.channel_ids)):
        raise HttpError(422, "Choose existing channels.")
    fields = {
        "kind": payload.kind, "mode": payload.mode, "resume_at": desk.aware(payload.resume_at) if payload.resume_at else None,
        "grid_minutes": payload.grid_minutes, "title": payload.title, "description": payload.description,
        "special": payload.special, "promo_ids": payload.promo_ids, "live_url": payload.live_url,
        "stop": desk.aware(payload.stop) if payload.stop else None,
    }  # fmt: skip
    start = desk.aware(payload.start)

    def place_everywhere():
        entries = [
            desk.new_entry(channel, start, item_ids=item_ids, user=request.user, **fields)
            for channel in channels
        ]
        names = ", ".join(channel.number for channel in channels)
        label = payload.title or (
            f"{len(item_ids)} program(s)" if item_ids else DeskEntry.Kind(payload.kind).label
        )
        return desk.commit(request.user, f"Placed {label} on {names}", [(None, entry) for entry in entries],
                           _versions(payload.versions))  # fmt: skip

    return _run(place_everywhere)


@router.patch(
    "/entries/{entry_id}", response=EditOut, summary="Change an entry: end a live event early, extend it"
)
@requires("scheduling.change_deskentry")
def patch_entry(request, entry_id: int, payload: EntryPatch):
    entry = get_object_or_404(DeskEntry, pk=entry_id)
    fields = {name: value for name, value in payload.dict(exclude={"versions"}).items() if value is not None}
    for name in ("stop", "resume_at"):
        if name in fields:
            fields[name] = desk.aware(fields[name])
    return _run(lambda: desk.update_entry(request.user, entry, _versions(payload.versions), **fields))


@router.delete(
    "/entries/{entry_id}", response=EditOut, summary="Delete a desk entry (the templates air again)"
)
@requires("scheduling.delete_deskentry")
def delete_entry(request, entry_id: int, versions: str | None = None):
    entry = get_object_or_404(DeskEntry, pk=entry_id)
    return _run(lambda: desk.commit(request.user, f"Deleted {entry.title or entry.get_kind_display()}",
                                    [(entry, None)], _parse_versions(versions)))  # fmt: skip


@router.post(
    "/programs/{program_id}/move", response=EditOut, summary="Move a program to another time or channel"
)
@requires("scheduling.change_deskentry")
def move_program(request, program_id: int, payload: MoveIn):
    program = get_object_or_404(ProgramEntry.objects.select_related("channel", "desk_entry"), pk=program_id)
    channel = get_object_or_404(Channel, pk=payload.channel_id)
    return _run(
        lambda: desk.move(
            request.user, program, channel, desk.aware(payload.start), _versions(payload.versions)
        )
    )


@router.post(
    "/programs/{program_id}/resize",
    response=EditOut,
    summary="Trim a program's block or extend it into fallback",
)
@requires("scheduling.change_deskentry")
def resize_program(request, program_id: int, payload: ResizeIn):
    program = get_object_or_404(ProgramEntry.objects.select_related("channel", "desk_entry"), pk=program_id)
    return _run(
        lambda: desk.resize(request.user, program, desk.aware(payload.stop), _versions(payload.versions))
    )


@router.delete(
    "/programs/{program_id}", response=EditOut, summary="Take a program off (its time airs the fallback)"
)
@requires("scheduling.delete_deskentry")
def delete_program(request, program_id: int, versions: str | None = None):
    program = get_object_or_404(ProgramEntry.objects.select_related("channel", "desk_entry"), pk=program_id)
    return _run(lambda: desk.delete(request.user, program, _parse_versions(versions)))


@router.post("/undo", response=EditOut, summary="Undo your last desk edit")
@requires("scheduling.change_deskentry")
def undo(request):
    return _run(lambda: desk.undo(request.user))


@router.post("/redo", response=EditOut, summary="Redo your last undone desk edit")
@requires("scheduling.change_deskentry")
def redo(request):
    return _run(lambda: desk.undo(request.user, redo=True))


def _parse_versions(text: str | None) -> dict[int, int] | None:
    """`versions=3:12,5:4` (channel id:version) on a DELETE, which has no body."""
    if not text:
        return None
    try:
        return {int(key): int(value) for key, value in (part.split(":") for part in text.split(",") if part)}
    except ValueError:
        raise HttpError(422, "versions is a list like 3:12,5:4 (channel id:version).") from None
