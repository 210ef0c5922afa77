"""The ``/_emulator/...`` control path: drive a running emulator over HTTP.

It exists for the CLI process, where tests and demos cannot reach the Python
objects. It needs the same token as the Plex API and is never counted in the
request statistics. JSON in, JSON out:

* ``GET  /_emulator/stats``            request totals per path
* ``POST /_emulator/stats/reset``      zero the counters
* ``GET  /_emulator/config``           the knobs (token left out)
* ``POST /_emulator/latency``          ``{"ms": 250}``
* ``POST /_emulator/faults``           ``{"clear": true, "rate": 0.1, "kinds": [...],
                                        "rules": [{"kind": "http500", "path": "/all", "nth": 3, "times": 1}]}``
* ``POST /_emulator/artwork``          ``{"clear": true, "corrupt": [{"path": "/thumb/", "mode": "html"}]}``
* ``GET  /_emulator/library``          items, filtered by ``?type=episode&title=...``
* ``GET  /_emulator/notifications``    notification sockets; ``POST …/kill``, ``…/noise``, ``…/config``
                                       (see ``plex_emulator.notifications``)
* ``POST /_emulator/library/<action>`` keyword arguments of ``Library.<action>``, for
  ``touch``, ``add_movie``, ``add_show``, ``add_episode``, ``delete``, ``rekey``, ``rekey_section``
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING

from .model import MOVIE, SHOW, AnyItem, Season, Show
from .routes import Response

if TYPE_CHECKING:
    from .server import PlexEmulator

CONTROL_PREFIX = "/_emulator"
LIBRARY_ACTIONS = ("touch", "add_movie", "add_show", "add_episode", "delete", "rekey", "rekey_section")
JSON_CONTENT_TYPE = "application/json"


def _json(payload: object, status: int = 200) -> Response:
    return Response(
        status=status, body=json.dumps(payload, sort_keys=True).encode(), content_type=JSON_CONTENT_TYPE
    )


def item_summary(item: AnyItem) -> dict[str, object]:
    summary: dict[str, object] = {
        "ratingKey": item.rating_key,
        "type": item.kind,
        "title": item.title,
        "guid": item.guid,
        "guids": list(item.external_guids),
        "addedAt": item.added_at,
        "updatedAt": item.updated_at,
    }
    if isinstance(item, Show):
        summary["seasons"] = [item_summary(season) for season in item.seasons]
    elif isinstance(item, Season):
        summary["index"] = item.index
        summary["episodes"] = [episode.rating_key for episode in item.episodes]
    return summary


def _result(value: object) -> object:
    if isinstance(value, list):
        return [_result(entry) for entry in value]
    if hasattr(value, "rating_key"):
        return item_summary(value)  # type: ignore[arg-type]
    return value


def handle_control(
    emulator: PlexEmulator, method: str, path: str, params: dict[str, str], body: bytes
) -> Response:
    action = path[len(CONTROL_PREFIX) :].strip("/")
    try:
        arguments = json.loads(body) if body.strip() else {}
        if not isinstance(arguments, dict):
            raise ValueError("the request body must be a JSON object")
        return _dispatch(emulator, method, action, params, arguments)
    except (ValueError, TypeError, KeyError) as error:
        return _json({"ok": False, "error": str(error)}, status=400)


def _dispatch(
    emulator: PlexEmulator, method: str, action: str, params: dict[str, str], arguments: dict
) -> Response:
    if method == "GET" and action == "stats":
        return _json({"ok": True, **emulator.requests.snapshot(), "faults": emulator.faults.describe()})
    if method == "POST" and action == "stats/reset":
        emulator.requests.reset()
        return _json({"ok": True})
    if method == "GET" and action == "config":
        config = dataclasses.asdict(emulator.config)
        config.pop("token")
        return _json({"ok": True, "config": config, "url": emulator.url})
    if method == "POST" and action == "latency":
        emulator.latency_ms = int(arguments["ms"])
        return _json({"ok": True, "latencyMs": emulator.latency_ms})
    if method == "POST" and action == "faults":
        return _configure_faults(emulator, arguments)
    if action == "notifications" or action.startswith("notifications/"):
        from .notifications import handle_notification_control

        return handle_notification_control(emulator.notifications, method, action, arguments)
    if method == "POST" and action == "artwork":
        if arguments.get("clear"):
            emulator.routes.artwork.clear()
        for rule in arguments.get("corrupt", []):
            emulator.routes.artwork.corrupt(
                rule.get("path", ".*"), rule.get("mode", "garbage"), int(rule.get("times", 0))
            )
        return _json({"ok": True})
    if method == "GET" and action == "library":
        return _list_items(emulator, params)
    if method == "POST" and action.startswith("library/"):
        name = action.removeprefix("library/")
        if name not in LIBRARY_ACTIONS:
            return _json({"ok": False, "error": f"unknown action {name!r}; try {LIBRARY_ACTIONS}"}, 404)
        result = getattr(emulator.library, name)(**arguments)
        return _json({"ok": True, "result": _result(result)})
    return _json({"ok": False, "error": f"no control endpoint {method} {CONTROL_PREFIX}/{action}"}, 404)


def _configure_faults(emulator: PlexEmulator, arguments: dict) -> Response:
    if arguments.get("clear"):
        emulator.faults.clear()
    if "rate" in arguments:
        emulator.faults.set_rate(float(arguments["rate"]), arguments.get("kinds"))
    for rule in arguments.get("rules", []):
        emulator.faults.schedule(
            rule["kind"], rule.get("path", ".*"), nth=int(rule.get("nth", 1)), times=int(rule.get("times", 1))
        )
    return _json({"ok": True, "faults": emulator.faults.describe()})


def _list_items(emulator: PlexEmulator, params: dict[str, str]) -> Response:
    library = emulator.library
    kind = params.get("type", "")
    kinds = [kind] if kind else [MOVIE, SHOW]
    with library.locked():
        found: list[AnyItem] = []
        for each_kind in kinds:
            section = library.section_of_kind(MOVIE if each_kind == MOVIE else SHOW)
            found += [
                item
                for item in library.listing(section.section_id, each_kind)
                if params.get("title") in (None, item.title)
            ]
        limit = int(params.get("limit", "1000"))
        summaries = [
            {key: value for key, value in item_summary(item).items() if key != "seasons"}
            for item in found[:limit]
        ]
    return _json({"ok": True, "total": len(found), "items": summaries})
