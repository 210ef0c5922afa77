"""What playout adds to `/metrics`: channels by state, viewers, restarts and pre-generation coverage
per channel (registered from PlayoutConfig.ready)."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily


def channel_families(now):
    from playout import pregen
    from playout.models import ChannelRuntime, RuntimeState
    from playout.viewer_counts import viewers_by_channel
    from scheduling.models import Channel

    channels = list(Channel.objects.filter(enabled=True).values_list("pk", "number"))
    runtimes = {
        row["channel_id"]: row
        for row in ChannelRuntime.objects.filter(channel__enabled=True).values(
            "channel_id", "state", "restarts"
        )
    }
    states = GaugeMetricFamily("retrovue_channels", "Enabled channels by playout state.", labels=["state"])
    counts = {state: 0 for state in RuntimeState.values}
    for pk, _ in channels:
        counts[runtimes.get(pk, {}).get("state", RuntimeState.STOPPED)] += 1
    for state, count in counts.items():
        states.add_metric([state], count)
    yield states
    yield GaugeMetricFamily(
        "retrovue_channels_on_air", "Enabled channels on the air now.", value=counts[RuntimeState.ON_AIR]
    )

    viewers = GaugeMetricFamily(
        "retrovue_channel_viewers",
        "Viewers per channel (HLS and MPEG-TS, every machine).",
        labels=["channel"],
    )
    restarts = CounterMetricFamily(
        "retrovue_channel_restarts", "ffmpeg restarts per channel since it was created.", labels=["channel"]
    )
    coverage = GaugeMetricFamily(
        "retrovue_pregen_coverage_seconds",
        "How far ahead each channel's schedule is pre-generated without a gap.",
        labels=["channel"],
    )
    ahead = pregen.coverage_by_channel(now)
    audience = viewers_by_channel(now)
    for pk, number in channels:
        runtime = runtimes.get(pk, {})
        viewers.add_metric([number], audience[pk].total if pk in audience else 0)
        restarts.add_metric([number], runtime.get("restarts", 0))
        coverage.add_metric([number], ahead.get(pk, timedelta(0)).total_seconds())
    yield viewers
    yield restarts
    yield coverage
