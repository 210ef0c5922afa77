"""The perimeter, declared: what anyone may reach, and what each custom admin page requires.

The enumerating tests walk Django's URL resolver, so a new URL is covered the day it is added:
it is refused to strangers unless it is listed in PUBLIC below (with the reason), and a new
custom admin page fails the suite until its permission is declared in ADMIN_CUSTOM_VIEWS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

# URL name (namespace:name) or, for unnamed patterns, the full route → why strangers may reach it.
PUBLIC = {
    "admin:login": "the sign-in page",
    "admin:logout": "signing out (an anonymous caller is sent to the admin's front door)",
    "healthz": "readiness for load balancers and monitors (names checks, never secrets)",
    "scheduling:guide": "the TV guide",
    "scheduling:xmltv": "guide data for players (needs ?token= when the station requires tokens)",
    "scheduling:channels_m3u": "the channel list for players (needs ?token= when required)",
    "watch:channel": "the watch page of a channel",
    "watch:now_next": "what is on a channel now and next",
    "playout:hls_playlist": "a channel's live HLS playlist (token when required)",
    "playout:hls_segment": "a channel's HLS segment (token when required)",
    "playout:channel_ts": "a channel as MPEG-TS (token when required)",
    "playout:authorize_stream": "nginx's question whether an /hls/ file may be served (yes or no)",
    "playout:hdhr_discover": "HDHomeRun emulation for Plex Live TV and other tuners",
    "playout:hdhr_lineup": "HDHomeRun emulation (needs ?token= when the station requires tokens)",
    "playout:hdhr_lineup_status": "HDHomeRun emulation",
    "playout:hdhr_device_xml": "HDHomeRun emulation",
    "hdhr/(?P<token>[A-Za-z0-9_-]{1,100})/": "HDHomeRun emulation under a stream token in the path",
    "artwork": "posters by content hash",
    "^media/(?P<path>.+)$": "uploaded logos and bugs, as inert images",
}
# Machine endpoints that authenticate with a secret in the path: refused without the right one.
SECRET_IN_PATH = {"hooks:plex", "hooks/plex/<str:secret>"}

# Admin pages that are not a ModelAdmin's standard views → the permission(s) they require.
ADMIN_CUSTOM_VIEWS = {
    "admin:catalog_item_chapters": "catalog.view_chaptermark",
    "admin:catalog_item_chapters_generate": "catalog.change_chaptermark",
    "admin:catalog_item_media": "catalog.view_chaptermark",
    "admin:playout_monitor": "playout.view_channelruntime",
    "admin:playout_monitor_data": "playout.view_channelruntime",
    "admin:catalog_sync_dashboard": "catalog.view_syncrun",
    "admin:scheduling_desk": "scheduling.view_deskentry",
    "admin:catalog_plex_sign_in": ("catalog.add_mediasource", "catalog.change_mediasource"),
    "admin:catalog_plex_sign_in_state": ("catalog.add_mediasource", "catalog.change_mediasource"),
    "admin:catalog_plex_choose_server": ("catalog.add_mediasource", "catalog.change_mediasource"),
    "admin:catalog_mediasource_test_connection": "catalog.change_mediasource",
    "admin:catalog_mediasource_sync": "catalog.change_mediasource",
    "admin:catalog_library_sync": "catalog.change_mediasource",
    "admin:catalog_syncrun_progress": "catalog.view_syncrun",
    "admin:catalog_syncrun_progress_json": "catalog.view_syncrun",
    "admin:catalog_matchcandidate_resolve": "catalog.change_matchcandidate",
    "admin:catalog_matchcandidate_rerun": "catalog.change_matchcandidate",
    "admin:alerts_console": "alerts.view_alert",
    "admin:alerts_clear_all": "alerts.change_alert",
    "admin:alerts_on_air": "alerts.view_alert",
}
# The AdminSite's own pages (staff only; what they list is filtered by permission).
ADMIN_SITE_VIEWS = {
    "admin:index", "admin:login", "admin:logout", "admin:password_change", "admin:password_change_done",
    "admin:autocomplete", "admin:jsi18n", "admin:app_list", "admin:view_on_site",
}  # fmt: skip
MODEL_ADMIN_VIEW = re.compile(r"^admin:\w+_(changelist|add|change|delete|history)$")

# Sample values for URL parameters, by name: enough for each pattern to resolve to itself.
SAMPLES = {
    "number": "7",
    "name": "run0001-000001.ts",
    "token": "st_not-a-real-token",
    "secret": "not-the-secret",
    "path": "logos/0123456789abcdef0123456789abcdef.png",
    "app_label": "catalog",
    "url": "no-such-page/",
    "prefix": "ab",
}
ARTWORK_SAMPLE = "artwork/ab/ab" + "0" * 62 + "-w300.jpg"


@dataclass(frozen=True)
class Endpoint:
    key: str  # namespace:name, or the route for unnamed patterns
    route: str
    url: str
    pattern: URLPattern


def _key(namespace: str, pattern: URLPattern, route: str) -> str:
    if pattern.name:
        return f"{namespace}:{pattern.name}" if namespace else pattern.name
    return route


def _fill_regex(regex: str, default: str) -> str:
    """An example path for a Django regex route: each named group becomes its sample value."""
    out, index = [], 0
    while index < len(regex):
        if regex.startswith("(?P<", index):
            name = regex[index + 4 : regex.index(">", index)]
            depth, cursor = 0, index
            while True:
                if regex[cursor] == "\\":
                    cursor += 2
                    continue
                depth += {"(": 1, ")": -1}.get(regex[cursor], 0)
                cursor += 1
                if depth == 0:
                    break
            out.append(SAMPLES.get(name, default))
            index = cursor
        elif regex[index] == "\\":
            out.append(regex[index + 1])
            index += 2
        elif regex[index] in "^$":
            index += 1
        else:
            out.append(regex[index])
            index += 1
    return "".join(out)


def _fill_route(route: str, default: str) -> str:
    return re.sub(r"<(?:[^>:]+:)?([^>]+)>", lambda match: SAMPLES.get(match.group(1), default), route)


def endpoints(default_id: str = "1") -> list[Endpoint]:
    """Every URL pattern the project serves, each with a concrete URL that resolves to it."""
    found: list[Endpoint] = []

    def walk(patterns, prefix_route: str, prefix_url: str, namespace: str) -> None:
        for pattern in patterns:
            raw = str(pattern.pattern)
            is_regex = raw.startswith("^") or "(?P<" in raw or raw.endswith("$")
            url_part = _fill_regex(raw, default_id) if is_regex else _fill_route(raw, default_id)
            if isinstance(pattern, URLResolver):
                inner = namespace if pattern.namespace is None else pattern.namespace
                walk(pattern.url_patterns, prefix_route + raw, prefix_url + url_part, inner)
                continue
            route = prefix_route + raw
            url = "/" + prefix_url + url_part
            if "(?P=prefix)" in raw:
                url = "/" + ARTWORK_SAMPLE
            found.append(Endpoint(_key(namespace, pattern, route), route, url, pattern))

    walk(get_resolver().url_patterns, "", "", "")
    return found


def is_public(endpoint: Endpoint) -> bool:
    route = endpoint.route.lstrip("^")
    return endpoint.key in PUBLIC or any(
        route.startswith(prefix) for prefix in PUBLIC if prefix.endswith("/")
    )


@dataclass(frozen=True)
class ApiOperation:
    method: str
    url: str  # path parameters filled with 1
    permissions: tuple[str, ...] | None  # what its @requires declares


def api_operations() -> list[ApiOperation]:
    """Every operation of the API, from its routers (one per method: a PATCH or DELETE route is not
    reached by the resolver-wide GET and POST)."""
    from retrovue.api import api
    from retrovue.core.api_permissions import declared_permissions

    found = []
    for bound in api._get_bound_routers():
        for path, path_view in bound.path_operations.items():
            for operation in path_view.operations:
                url = re.sub("/+", "/", f"/api/{bound.prefix}/{path}")
                url = re.sub(r"\{[^}]+\}", "1", url)
                for method in operation.methods:
                    found.append(ApiOperation(method, url, declared_permissions(operation.view_func)))
    return found
