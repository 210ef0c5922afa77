"""The /api/playout/ router: what each channel's playout is doing (read-only; auth from the API root)."""

from datetime import datetime

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema

from playout.models import ChannelRuntime, RuntimeState
from playout.viewer_counts import ChannelViewers, viewers_by_channel
from retrovue.core.api_permissions import requires
from retrovue.core.public_url import public_base_url
from scheduling.m3u import stream_url
from scheduling.models import Channel

router = Router(tags=["playout"])


class ChannelRuntimeOut(Schema):
    channel_id: int
    number: str
    name: str
    state: str = Field(description="stopped, starting, on_air, backing_off or failed.")
    lease_owner: str = Field(description="The playout worker running the channel, if any.")
    lease_expires_at: datetime | None
    pid: int | None
    started_at: datetime | None
    restarts: int
    consecutive_failures: int
    media_sequence: int = Field(description="The media sequence number the next segment gets.")
    discontinuity_sequence: int
    last_segment_at: datetime | None
    last_error: str
    viewers: int = Field(description="Viewers now, HLS and MPEG-TS, summed over every machine.")
    hls_viewers: int = Field(description="HLS clients that fetched a segment in the last few seconds.")
    ts_viewers: int = Field(description="MPEG-TS streams open now.")
    playlist_url: str


def _runtime_out(
    channel: Channel, runtime: ChannelRuntime | None, audience: ChannelViewers, request: HttpRequest
) -> dict:
    runtime = runtime or ChannelRuntime(channel=channel, state=RuntimeState.STOPPED)
    return {
        "channel_id": channel.pk,
        "number": channel.number,
        "name": channel.name,
        "state": runtime.state,
        "lease_owner": runtime.lease_owner,
        "lease_expires_at": runtime.lease_expires_at,
        "pid": runtime.pid,
        "started_at": runtime.started_at,
        "restarts": runtime.restarts,
        "consecutive_failures": runtime.consecutive_failures,
        "media_sequence": runtime.media_sequence,
        "discontinuity_sequence": runtime.discontinuity_sequence,
        "last_segment_at": runtime.last_segment_at,
        "last_error": runtime.last_error,
        "viewers": audience.total,
        "hls_viewers": audience.hls,
        "ts_viewers": audience.ts,
        "playlist_url": stream_url(channel, public_base_url(request)),  # not the client's Host header
    }


def _runtime(channel: Channel) -> ChannelRuntime | None:
    try:
        return channel.runtime
    except ChannelRuntime.DoesNotExist:
        return None


@router.get("/channels", response=list[ChannelRuntimeOut], summary="Playout state of every channel")
@requires("scheduling.view_channel", "playout.view_channelruntime")
def list_channels(request):
    channels = sorted(Channel.objects.select_related("runtime"), key=lambda channel: channel.sort_key)
    audience = viewers_by_channel()
    return [
        _runtime_out(channel, _runtime(channel), audience.get(channel.pk, ChannelViewers()), request)
        for channel in channels
    ]


@router.get("/channels/{number}", response=ChannelRuntimeOut, summary="Playout state of one channel")
@requires("scheduling.view_channel", "playout.view_channelruntime")
def channel_detail(request, number: str):
    channel = get_object_or_404(Channel.objects.select_related("runtime"), number=number)
    audience = viewers_by_channel().get(channel.pk, ChannelViewers())
    return _runtime_out(channel, _runtime(channel), audience, request)
