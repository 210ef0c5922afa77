"""What the catalog adds to `/healthz`: the Plex live-update listener (`python -m retrovue listen`),
one check per enabled Plex source it should watch.

A listener that is down costs freshness, not air (the scheduled syncs still run), so its checks are
`degraded` at worst. The listener writes its row every few seconds while it runs; a row that has
gone stale, or no row at all, means no listener is running for that source.
"""

from __future__ import annotations

from datetime import datetime

from retrovue.core.health import Check


def check_listener(now: datetime) -> list[Check]:
    from catalog.choices import SourceKind
    from catalog.models import MediaSource, NotificationListenerState
    from catalog.models.live import STALE_AFTER, ListenerStatus

    sources = MediaSource.objects.filter(kind=SourceKind.PLEX, enabled=True).exclude(base_url="")
    states = {
        state.source_id: state for state in NotificationListenerState.objects.filter(source__in=sources)
    }
    checks = []
    for source_id in sources.order_by("pk").values_list("pk", flat=True):
        name = f"listener:source-{source_id}"
        state = states.get(source_id)
        if state is None:
            checks.append(Check(name, True, "no live-update listener has run for this source", degraded=True))
        elif now - state.seen_at > STALE_AFTER:
            checks.append(Check(name, True, "live-update listener not running", degraded=True))
        elif state.status == ListenerStatus.CONNECTED:
            checks.append(Check(name, True, "live updates connected"))
        else:
            label = ListenerStatus(state.status).label.lower()
            checks.append(Check(name, True, f"live updates {label}", degraded=True))
    return checks
