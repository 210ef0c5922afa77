"""Plex's notification websocket, ``/:/websockets/notifications``: what changed, as it happens.

Every library mutation (``touch``, ``add_*``, ``delete``, ``rekey``, ``rekey_section``, from
Python or over ``/_emulator/library/...``) is announced to every connected client with the frames
a Plex Media Server sends (PLEX_LIVE_AND_AUTH_NOTES.md §1):

* a new item: ``timeline`` entries with ``state`` 0 and ``metadataState`` "created", then the
  same items with ``state`` 5 (done, no ``metadataState``);
* a removed item (a rekey removes the old key): ``state`` 9, ``metadataState`` "deleted";
* a changed item: ``activity`` ``library.refresh.items`` started and ended (``Context.key``
  ``/library/metadata/N``), then its ``timeline`` entry with ``state`` 5.

``itemID`` and ``sectionID`` are strings, ``type`` is Plex's number (1 movie, 2 show, 3 season,
4 episode). Unless ``noise`` is off, each announcement is preceded by one frame a library
listener must ignore (playback, status, DVR ``tv.plex…`` entries, ``type`` -1, other
activities, ``…/children`` refreshes, progress states), cycling through them.

Frames sent while no client is connected are lost, as on Plex. The kill knob
(``kill(after_frames=N, mode="reset"|"close")``, or ``POST /_emulator/notifications/kill``)
drops connections, at once or N frames later, i.e. in the middle of a burst.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from .model import SEARCH_TYPES, AnyItem, Episode, Season
from .routes import Response
from .websocket import WebSocketConnection, accept_key

if TYPE_CHECKING:
    from .handler import PlexRequestHandler
    from .library import Library

NOTIFICATIONS_PATH = "/:/websockets/notifications"
LIBRARY_IDENTIFIER = "com.plexapp.plugins.library"
MUTATIONS = ("touch", "add_movie", "add_show", "add_episode", "delete", "rekey", "rekey_section")
ENTRIES_PER_FRAME = 50
STATE_CREATED, STATE_PROGRESS, STATE_DONE, STATE_DELETED = 0, 1, 5, 9


def container(kind: str, child: str, entries: list[dict]) -> dict:
    return {"NotificationContainer": {"type": kind, "size": len(entries), child: entries}}


def timeline_entry(
    item: AnyItem, state: int, updated_at: int, metadata_state: str | None = None, *, key: str | None = None
) -> dict:
    """`key` names a removed item whose object has been re-keyed since (rekey reuses the object)."""
    entry: dict[str, object] = {
        "identifier": LIBRARY_IDENTIFIER,
        "itemID": str(key or item.rating_key),
        "sectionID": str(item.section_id),
        "type": SEARCH_TYPES[item.kind],
        "title": item.title,
        "state": state,
        "updatedAt": updated_at,
    }
    try:
        if isinstance(item, Episode):
            entry["parentItemID"] = str(item.parent.rating_key)
            entry["rootItemID"] = str(item.show.rating_key)
        elif isinstance(item, Season):
            entry["parentItemID"] = entry["rootItemID"] = str(item.parent.rating_key)
    except LookupError:  # detached by a delete
        pass
    if metadata_state:
        entry["metadataState"] = metadata_state
    return entry


def activity(event: str, kind: str, title: str, context: dict, progress: int) -> dict:
    ident = str(uuid.uuid4())
    return container(
        "activity",
        "ActivityNotification",
        [
            {
                "event": event,
                "uuid": ident,
                "Activity": {
                    "uuid": ident,
                    "type": kind,
                    "cancellable": False,
                    "userID": 1,
                    "title": title,
                    "subtitle": "",
                    "progress": progress,
                    "Context": context,
                },
            }
        ],
    )


def refresh_activity(item: AnyItem, event: str, *, key: str | None = None) -> dict:
    context = {
        "accessible": True,
        "exists": True,
        "key": key or item.key,
        "refreshed": True,
        "librarySectionID": str(item.section_id),
    }
    return activity(
        event, "library.refresh.items", f"Refreshing {item.title}", context, 100 if event == "ended" else 0
    )


def noise_frames(sample: AnyItem | None, now: int) -> list[dict]:
    """Frames a library listener must ignore; `sample` is a real item so a mistake shows as a sync."""
    key = sample.rating_key if sample else "1"
    section = str(sample.section_id) if sample else "1"
    frames = [
        container(
            "playing",
            "PlaySessionStateNotification",
            [
                {
                    "sessionKey": "12",
                    "clientIdentifier": "emu-client",
                    "ratingKey": key,
                    "key": f"/library/metadata/{key}",
                    "viewOffset": 61000,
                    "playQueueItemID": 7,
                    "state": "playing",
                }
            ],
        ),
        container(
            "status",
            "StatusNotification",
            [{"title": "Library scan complete", "description": "", "notificationName": "LIBRARY_UPDATE"}],
        ),
        container(
            "timeline",
            "TimelineEntry",
            [
                {
                    "identifier": "tv.plex.providers.epg.cloud",
                    "itemID": key,
                    "sectionID": section,
                    "type": 4,
                    "title": "Guide item",
                    "state": STATE_DONE,
                    "updatedAt": now,
                }
            ],
        ),
        container(
            "timeline",
            "TimelineEntry",
            [
                {
                    "identifier": LIBRARY_IDENTIFIER,
                    "itemID": key,
                    "sectionID": "-1",
                    "type": -1,
                    "title": "",
                    "state": STATE_DONE,
                    "updatedAt": now,
                }
            ],
        ),
        container(
            "timeline",
            "TimelineEntry",
            [
                {
                    "identifier": LIBRARY_IDENTIFIER,
                    "itemID": key,
                    "sectionID": section,
                    "type": 1,
                    "title": "",
                    "state": STATE_PROGRESS,
                    "mediaState": "analyzing",
                    "updatedAt": now,
                }
            ],
        ),
        activity(
            "ended", "media.generate.bif", "Generating thumbnails", {"key": f"/library/metadata/{key}"}, 100
        ),
        activity(
            "ended",
            "library.refresh.items",
            "Refreshing",
            {"key": f"/library/metadata/{key}/children", "librarySectionID": section},
            100,
        ),
        activity("started", "library.refresh.items", "Refreshing", {"key": f"/library/metadata/{key}"}, 0),
        container("reachability", "ReachabilityNotification", [{"reachability": True}]),
        container(
            "transcodeSession.update", "TranscodeSession", [{"key": "/transcode/sessions/x", "progress": 5}]
        ),
        container(
            "backgroundProcessingQueue",
            "BackgroundProcessingQueueEventNotification",
            [{"queueID": 1, "event": "queueRegenerated"}],
        ),
        container("progress", "ProgressNotification", [{"message": "Scanning", "ratingKey": key}]),
        {"NotificationContainer": {"type": "update.statechange", "size": 0}},
    ]
    return frames


class NotificationHub:
    """Connected notification clients, the frames sent to them and the kill knob."""

    def __init__(
        self, library: Library, stopping: threading.Event, *, noise: bool = True, ping_interval: float = 10.0
    ):
        self.library = library
        self.stopping = stopping
        self.noise = noise
        self.ping_interval = ping_interval
        self.history: deque[dict] = deque(maxlen=2000)  # recent frames, for tests
        self.frames_published = 0
        self.connections_accepted = 0
        self._connections: set[WebSocketConnection] = set()
        self._lock = threading.Lock()
        self._noise_cycle = itertools.count()
        self._depth = 0
        self._pending_kill: tuple[int, str] | None = None
        self._connected = threading.Condition(self._lock)

    # -- clients --------------------------------------------------------------------------------

    @property
    def connection_count(self) -> int:
        with self._lock:
            return sum(1 for connection in self._connections if not connection.closed.is_set())

    def wait_for_connections(self, count: int = 1, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._connected:
            while sum(1 for c in self._connections if not c.closed.is_set()) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._connected.wait(min(left, 0.1))
            return True

    def serve(self, handler: PlexRequestHandler) -> None:
        """Answer the upgrade on `handler`'s connection and stream frames until it ends."""
        headers = handler.headers
        key = headers.get("Sec-WebSocket-Key", "")
        if "websocket" not in headers.get("Upgrade", "").lower() or not key:
            handler.send_response(400)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        handler.send_response(101, "Switching Protocols")
        handler.send_header("Upgrade", "websocket")
        handler.send_header("Connection", "Upgrade")
        handler.send_header("Sec-WebSocket-Accept", accept_key(key))
        handler.end_headers()
        handler.wfile.flush()
        handler.close_connection = True
        connection = WebSocketConnection(handler.connection, handler.rfile, ping_interval=self.ping_interval)
        with self._connected:
            self._connections.add(connection)
            self.connections_accepted += 1
            if self._pending_kill is not None:
                connection.kill_after, connection.kill_mode = self._pending_kill
            self._connected.notify_all()
        reader = threading.Thread(target=connection.read_loop, name="plex-emulator-ws-reader", daemon=True)
        reader.start()
        try:
            connection.write_loop(self.stopping)
        finally:
            with self._lock:
                self._connections.discard(connection)
            reader.join(timeout=2)

    # -- sending --------------------------------------------------------------------------------

    def publish(self, frame: dict) -> None:
        text = json.dumps(frame)
        with self._lock:
            self.history.append(frame)
            self.frames_published += 1
            for connection in self._connections:
                connection.outbox.put(text)

    def send_noise(self, count: int | None = None) -> int:
        """Publish `count` noise frames (default: one of each kind)."""
        with self.library.locked():
            movies = self.library.movies()
            sample = movies[0] if movies else None
            frames = noise_frames(sample, self.library.now())
        count = len(frames) if count is None else count
        for _ in range(count):
            self.publish(frames[next(self._noise_cycle) % len(frames)])
        return count

    def kill(self, *, after_frames: int = 0, mode: str = "reset", future: bool = False) -> int:
        """Drop every connection now, or after it has sent `after_frames` more frames.

        With `future`, connections opened later are dropped after `after_frames` frames too,
        until `kill` is called again without it. Returns how many connections were marked.
        """
        if mode not in ("reset", "close"):
            raise ValueError("mode is 'reset' or 'close'")
        with self._lock:
            self._pending_kill = (max(after_frames, 1), mode) if future else None
            targets = [connection for connection in self._connections if not connection.closed.is_set()]
            if after_frames > 0:
                for connection in targets:
                    connection.kill_after, connection.kill_mode = after_frames, mode
        if after_frames <= 0:
            for connection in targets:
                connection.abort(mode)
        return len(targets)

    def describe(self) -> dict[str, object]:
        with self._lock:
            return {
                "connections": sum(1 for c in self._connections if not c.closed.is_set()),
                "connectionsAccepted": self.connections_accepted,
                "framesPublished": self.frames_published,
                "noise": self.noise,
            }

    # -- announcing library mutations -----------------------------------------------------------

    def instrument(self) -> None:
        """Wrap the library's mutation methods so each announces what it changed."""
        for name in MUTATIONS:
            setattr(self.library, name, self._announcing(name, getattr(self.library, name)))

    def _announcing(self, name: str, mutate: Callable) -> Callable:
        library = self.library

        def announced(*args, **kwargs):
            with library.locked():
                outermost = self._depth == 0  # delete and rekey_section call other mutations
                before = dict(library._items) if outermost else {}
                self._depth += 1
                try:
                    result = mutate(*args, **kwargs)
                finally:
                    self._depth -= 1
                if not outermost:
                    return result
                after = dict(library._items)
                created = [(key, item) for key, item in after.items() if key not in before]
                deleted = [(key, item) for key, item in before.items() if key not in after]
                changed = [(result.rating_key, result)] if name == "touch" else []
                now = library.now()
                frames = self._frames(created, deleted, changed, now)
            for frame in frames:
                self.publish(frame)
            return result

        announced.__name__ = name
        announced.__doc__ = mutate.__doc__
        return announced

    def _frames(self, created: list, deleted: list, changed: list, now: int) -> list[dict]:
        frames: list[dict] = []
        if self.noise and (created or deleted or changed):
            noise = noise_frames(next(iter(self.library.movies()), None), now)
            frames.append(noise[next(self._noise_cycle) % len(noise)])

        def timeline(items: list, state: int, metadata_state: str | None) -> None:
            for start in range(0, len(items), ENTRIES_PER_FRAME):
                entries = [
                    timeline_entry(item, state, item.updated_at or now, metadata_state, key=key)
                    for key, item in items[start : start + ENTRIES_PER_FRAME]
                ]
                frames.append(container("timeline", "TimelineEntry", entries))

        timeline(deleted, STATE_DELETED, "deleted")
        timeline(created, STATE_CREATED, "created")
        timeline(created, STATE_DONE, None)
        for _key, item in changed:
            frames.append(refresh_activity(item, "started"))
            frames.append(refresh_activity(item, "ended"))
        timeline(changed, STATE_DONE, None)
        return frames


def handle_notification_control(hub: NotificationHub, method: str, action: str, arguments: dict) -> Response:
    """``GET /_emulator/notifications``; ``POST …/kill`` ``{"after_frames": 0, "mode": "reset",
    "future": false}``; ``POST …/noise`` ``{"count": 13}``; ``POST …/config`` ``{"noise": false}``."""
    if method == "GET" and action == "notifications":
        result: dict[str, object] = hub.describe()
    elif method == "POST" and action == "notifications/kill":
        result = {
            "killed": hub.kill(
                after_frames=int(arguments.get("after_frames", 0)),
                mode=str(arguments.get("mode", "reset")),
                future=bool(arguments.get("future", False)),
            )
        }
    elif method == "POST" and action == "notifications/noise":
        count = arguments.get("count")
        result = {"sent": hub.send_noise(None if count is None else int(count))}
    elif method == "POST" and action == "notifications/config":
        if "noise" in arguments:
            hub.noise = bool(arguments["noise"])
        result = hub.describe()
    else:
        body = json.dumps({"ok": False, "error": f"no control endpoint {method} /_emulator/{action}"})
        return Response(status=404, body=body.encode(), content_type="application/json")
    body = json.dumps({"ok": True, **result}, sort_keys=True)
    return Response(body=body.encode(), content_type="application/json")


__all__ = [
    "LIBRARY_IDENTIFIER",
    "NOTIFICATIONS_PATH",
    "NotificationHub",
    "handle_notification_control",
    "noise_frames",
    "timeline_entry",
]
