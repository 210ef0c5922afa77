"""The /api/scheduling/ router: channels, their templates, the program log, what is on now, warnings.

Read-only; authentication comes from the API root. Channels carry no secrets, and stream URLs are
given without any stream token.
"""

from datetime import UTC, datetime, time, timedelta

from django.db.models import Prefetch
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError
from ninja.pagination import paginate

from catalog.models import Movie, Show
from retrovue.core.api_paging import PageNumberPagination
from retrovue.core.api_permissions import requires
from retrovue.core.public_url import public_base_url
from scheduling.m3u import stream_url
from scheduling.models import Channel, Piece, ProgramEntry, ScheduleTemplate, ScheduleWarning, TimeSlot
from scheduling.xmltv import logo_url, onscreen

router = Router(tags=["scheduling"])
PAGE_SIZE = 100
DEFAULT_WINDOW = timedelta(hours=24)


def _base_url(request: HttpRequest) -> str:
    # The configured public URL, never a Host header the client made up (as the M3U and HDHR do).
    return public_base_url(request)


def _aware(moment: datetime | None) -> datetime | None:
    """Query times without an offset are taken as UTC."""
    if moment is not None and timezone.is_naive(moment):
        return moment.replace(tzinfo=UTC)
    return moment


# --- Schemas --------------------------------------------------------------------------------


class ChannelOut(Schema):
    id: int
    number: str
    name: str
    call_sign: str
    group: str
    time_zone: str
    enabled: bool
    always_on: bool
    xmltv_id: str
    target_demographic: str
    content_rating_limit: str
    stream_profile_id: int
    bug_corner: str
    bug_opacity: float
    seed: int
    sign_off_at: time | None
    sign_on_at: time | None
    logo_url: str | None = Field(None, description="Absolute URL of the logo, if the channel has one.")
    stream_url: str = Field("", description="Absolute URL of the live HLS playlist.")

    @staticmethod
    def resolve_logo_url(channel: Channel, context) -> str | None:
        return logo_url(channel, _base_url(context["request"]))

    @staticmethod
    def resolve_stream_url(channel: Channel, context) -> str:
        return stream_url(channel, _base_url(context["request"]))


class SlotOut(Schema):
    id: int
    title: str
    days: list[int] = Field(description="Weekdays, 0 = Monday … 6 = Sunday.")
    start_time: time
    end_time: time = Field(description="Exclusive; 00:00 means midnight at the end of the day.")
    content: str
    order: str
    daypart: str
    repeat_spacing_days: int
    show_ids: list[int]
    movie_ids: list[int]
    collection_id: int | None = Field(None, description="For collection slots: the collection it draws from.")

    @staticmethod
    def resolve_show_ids(slot: TimeSlot) -> list[int]:
        return [show.pk for show in slot.shows.all()]

    @staticmethod
    def resolve_movie_ids(slot: TimeSlot) -> list[int]:
        return [movie.pk for movie in slot.movies.all()]


class TemplateOut(Schema):
    id: int
    channel_id: int
    name: str
    priority: int
    enabled: bool
    from_month_day: str
    until_month_day: str
    slots: list[SlotOut]

    @staticmethod
    def resolve_slots(template: ScheduleTemplate) -> list[TimeSlot]:
        return list(template.slots.all())


class ProgramOut(Schema):
    id: int
    channel_id: int
    start: datetime
    stop: datetime
    title: str
    subtitle: str
    description: str
    category: str
    content_rating: str
    season_number: int | None
    episode_number: int | None
    last_episode_number: int | None = None
    episode: str | None = Field(
        None, description='As guides print it: "S01E02", or "S01E01-E02" for a double episode.'
    )
    is_rerun: bool
    content_ms: int
    duration_ms: int
    playable_id: int | None
    slot_id: int | None

    @staticmethod
    def resolve_episode(program: ProgramEntry) -> str | None:
        return onscreen(program.season_number, program.episode_number, program.last_episode_number)


class PieceOut(Schema):
    id: int
    program_id: int
    sequence: int
    start: datetime
    stop: datetime
    kind: str
    playable_id: int | None
    playable_title: str | None = None
    in_ms: int
    out_ms: int

    @staticmethod
    def resolve_playable_title(piece: Piece) -> str | None:
        return piece.playable.title if piece.playable_id else None


class NowOut(Schema):
    at: datetime
    channel_id: int
    now: ProgramOut | None = Field(description="The program on the air at `at`.")
    next: ProgramOut | None = Field(description="The program after it.")
    piece: PieceOut | None = Field(description="What airs at `at` in the break log, if it is built that far.")


class WarningOut(Schema):
    id: int
    channel_id: int
    at: datetime
    message: str
    created_at: datetime


class ChannelFilter(Schema):
    enabled: bool | None = None
    group: str | None = None


class ProgramWindow(Schema):
    start: datetime | None = Field(None, description="Default: now. Without an offset: UTC.")
    stop: datetime | None = Field(None, description="Default: 24 hours after start.")


class WarningFilter(Schema):
    since: datetime | None = Field(None, description="Only warnings about air time from here on.")


# --- Endpoints ------------------------------------------------------------------------------


@router.get("/channels", response=list[ChannelOut], summary="Channels, in channel-number order")
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
@requires("scheduling.view_channel")
def list_channels(request, filters: Query[ChannelFilter]):
    channels = Channel.objects.all()
    if filters.enabled is not None:
        channels = channels.filter(enabled=filters.enabled)
    if filters.group:
        channels = channels.filter(group__iexact=filters.group)
    # Numbers are text ("10" < "7"), so order the way a tuner does.
    return sorted(channels, key=lambda channel: channel.sort_key)


@router.get("/channels/{channel_id}", response=ChannelOut)
@requires("scheduling.view_channel")
def get_channel(request, channel_id: int):
    return get_object_or_404(Channel, pk=channel_id)


@router.get(
    "/channels/{channel_id}/templates",
    response=list[TemplateOut],
    summary="A channel's schedule templates (highest priority first) with their time slots",
)
@requires("scheduling.view_channel", "scheduling.view_scheduletemplate", "scheduling.view_timeslot")
def list_channel_templates(request, channel_id: int):
    channel = get_object_or_404(Channel, pk=channel_id)
    slots = TimeSlot.objects.order_by("start_time", "id").prefetch_related(
        Prefetch("shows", queryset=Show.objects.only("id")),
        Prefetch("movies", queryset=Movie.objects.only("id")),
    )
    return channel.templates.order_by("-priority", "name").prefetch_related(Prefetch("slots", queryset=slots))


@router.get(
    "/channels/{channel_id}/programs",
    response=list[ProgramOut],
    summary="The program log of a channel: programs overlapping [start, stop)",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
@requires("scheduling.view_channel", "scheduling.view_programentry")
def list_channel_programs(request, channel_id: int, window: Query[ProgramWindow]):
    channel = get_object_or_404(Channel, pk=channel_id)
    start = _aware(window.start) or timezone.now()
    stop = _aware(window.stop) or start + DEFAULT_WINDOW
    if stop <= start:
        raise HttpError(422, "stop must be after start.")
    return channel.programs.filter(start__lt=stop, stop__gt=start).order_by("start")


@router.get(
    "/channels/{channel_id}/now",
    response=NowOut,
    summary="What is on now (or at `at`), what comes next, and the piece airing from the break log",
)
@requires("scheduling.view_channel", "scheduling.view_programentry", "scheduling.view_piece")
def channel_now(request, channel_id: int, at: datetime | None = None):
    channel = get_object_or_404(Channel, pk=channel_id)
    moment = _aware(at) or timezone.now()
    return {"at": moment, "channel_id": channel.pk, **now_and_next(channel, moment)}


def now_and_next(channel: Channel, moment: datetime) -> dict:
    programs = channel.programs.order_by("start")
    current = programs.filter(start__lte=moment, stop__gt=moment).last()
    following = programs.filter(start__gte=current.stop) if current else programs.filter(start__gt=moment)
    piece = (
        channel.pieces.filter(start__lte=moment, stop__gt=moment)
        .select_related("playable")
        .order_by("start")
        .last()
    )
    return {"now": current, "next": following.first(), "piece": piece}


@router.get(
    "/channels/{channel_id}/warnings", response=list[WarningOut], summary="What the builder could not do"
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
@requires("scheduling.view_channel", "scheduling.view_schedulewarning")
def list_channel_warnings(request, channel_id: int, filters: Query[WarningFilter]):
    channel = get_object_or_404(Channel, pk=channel_id)
    warnings = ScheduleWarning.objects.filter(channel=channel)
    since = _aware(filters.since)
    if since is not None:
        warnings = warnings.filter(at__gte=since)
    return warnings.order_by("at", "id")


def _mount_desk() -> None:
    from scheduling.desk_api import router as desk_router

    router.add_router("/desk/", desk_router)


_mount_desk()
