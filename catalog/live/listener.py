"""The live-update listener: Plex's notification socket, turned into item syncs within seconds.

Run it as its own long-lived process, `python -m retrovue listen` (the launcher starts one beside
web, worker, beat and playout), not as a Celery task or inside a web request: it holds one
websocket per enabled Plex source for as long as the station runs.

Per source, a `SourceListener` is a loop over small steps (`step` calls them):

- `connect`: open `ws[s]://<server>/:/websockets/notifications` (token in the `X-Plex-Token`
  handshake header, so it is never part of a URL that could be logged). On every successful
  connect it also queues one incremental sync of the source: Plex does not replay frames, so
  whatever changed while nobody listened is caught that way;
- `receive`: read one frame (short timeout) and keep the library events (`catalog.live.events`);
  everything else counts as a frame and is dropped;
- `keep_alive`: ping every `ping_interval`; a socket silent for `silence_limit` is dead;
- `flush_if_due`: pending events are coalesced by ratingKey and, once no new one arrived for
  `debounce` seconds (or `max_wait` after the first, if they keep coming), handed to
  `request_sync(…, item_keys=…)` in one call: a burst of 500 events becomes a handful of runs;
- `disconnect`: on any error or close, drop the socket and retry after a capped, jittered,
  exponential backoff (the count is wiped after a connection that stayed up `stable_after`);
- `save_state_if_due`: status, counters, last event and last error go to the source's
  `NotificationListenerState` row, shown in the MediaSource admin.

`ListenerService` runs one thread per enabled Plex source, re-reads the sources every
`rescan_interval` (starting and stopping listeners as sources come and go) and exits cleanly on
SIGTERM/SIGINT, which only set a flag.
"""

from __future__ import annotations

import contextlib
import logging
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import websocket
from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from catalog.choices import SourceKind, SyncKind
from catalog.live.events import LibraryEvent, parse_frame
from catalog.models import Library, ListenerStatus, MediaSource, NotificationListenerState, SyncRun
from catalog.sync.triggers import request_sync
from retrovue.log_redaction import redact

logger = logging.getLogger("catalog.live")

NOTIFICATIONS_PATH = "/:/websockets/notifications"
_ERROR_LEN = NotificationListenerState._meta.get_field("last_error").max_length
_SUMMARY_LEN = NotificationListenerState._meta.get_field("last_event_summary").max_length


@dataclass
class ListenerSettings:
    debounce: float = 0.5
    max_wait: float = 1.5
    read_timeout: float = 0.25
    connect_timeout: float = 10.0
    backoff_first: float = 0.5
    backoff_max: float = 30.0
    stable_after: float = 10.0
    ping_interval: float = 20.0
    silence_limit: float = 60.0
    state_interval: float = 2.0
    rescan_interval: float = 15.0
    catch_up_on_connect: bool = True


def notification_url(base_url: str) -> str:
    base = base_url.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base.removeprefix("https://") + NOTIFICATIONS_PATH
    return "ws://" + base.removeprefix("http://") + NOTIFICATIONS_PATH


def open_socket(source: MediaSource, timeout: float) -> websocket.WebSocket:
    return websocket.create_connection(
        notification_url(source.base_url),
        timeout=timeout,
        header={
            "X-Plex-Token": source.token,
            "X-Plex-Client-Identifier": source.client_identifier,
            "X-Plex-Product": "RetroVue",
        },
        enable_multithread=True,
    )


def request_item_sync(source: MediaSource, keys: list[str], library: Library | None = None) -> SyncRun:
    run, _ = request_sync(source, SyncKind.INCREMENTAL, trigger="websocket", item_keys=keys, library=library)
    return run


def request_catch_up(source: MediaSource) -> SyncRun:
    run, _ = request_sync(source, SyncKind.INCREMENTAL, trigger="websocket reconnect")
    return run


def describe_error(error: BaseException | str) -> str:
    if isinstance(error, str):
        return redact(error)[:_ERROR_LEN]
    text = str(error).split(" -+-+- ")[0]  # websocket-client appends the response headers
    return redact(f"{type(error).__name__}: {text}" if text else type(error).__name__)[:_ERROR_LEN]


@dataclass
class SourceListener:
    """One Plex source's notification socket and the item syncs it asks for."""

    source_id: int
    settings: ListenerSettings = field(default_factory=ListenerSettings)
    connect_socket: Callable[[MediaSource, float], websocket.WebSocket] = open_socket
    request: Callable[..., SyncRun] = request_item_sync
    catch_up: Callable[[MediaSource], SyncRun] = request_catch_up
    clock: Callable[[], float] = time.monotonic
    jitter: Callable[[], float] = random.random

    def __post_init__(self) -> None:
        self.ws: websocket.WebSocket | None = None
        self.source: MediaSource | None = None
        self.stopped = False
        self.failures = 0
        self.next_attempt = 0.0
        self.connected_at: float | None = None
        self.last_heard = 0.0
        self.last_ping = 0.0
        self.pending: dict[str, LibraryEvent] = {}
        self.first_pending = 0.0
        self.last_pending = 0.0
        self.last_saved = 0.0
        self.dirty = True
        state, _ = NotificationListenerState.objects.get_or_create(source_id=self.source_id)
        self.state = state

    # --- the loop ------------------------------------------------------------------------------

    def step(self) -> float:
        """One turn: connect or read, then flush and save when due; returns how long to idle."""
        idle = 0.0
        if self.ws is None:
            now = self.clock()
            if now >= self.next_attempt:
                self.connect()
            else:
                idle = min(self.next_attempt - now, 0.1)
        else:
            self.receive()
            if self.ws is not None:
                self.keep_alive()
        self.flush_if_due()
        self.save_state_if_due()
        return idle

    def connect(self) -> bool:
        source = MediaSource.objects.filter(pk=self.source_id).first()
        if source is None or not source.enabled or source.kind != SourceKind.PLEX:
            self.stopped = True
            return False
        self.source = source
        self.state.status = ListenerStatus.CONNECTING
        try:
            self.ws = self.connect_socket(source, self.settings.connect_timeout)
            self.ws.settimeout(self.settings.read_timeout)
        except Exception as error:  # refused, 401, TLS, DNS: all mean "try again later"
            self.ws = None
            self.disconnect(error)
            return False
        now = self.clock()
        self.connected_at = self.last_heard = self.last_ping = now
        self.state.status = ListenerStatus.CONNECTED
        self.state.connected_since = timezone.now()
        self.state.connects += 1
        logger.info("Listening to %s for library changes", source)
        if self.settings.catch_up_on_connect:
            self._guarded(lambda: self.catch_up(source), "queueing the catch-up sync")
        self.save_state()
        return True

    def receive(self) -> None:
        assert self.ws is not None
        try:
            opcode, data = self.ws.recv_data(control_frame=True)
        except websocket.WebSocketTimeoutException:
            return
        except (websocket.WebSocketException, OSError, ValueError) as error:
            self.disconnect(error)
            return
        self.last_heard = self.clock()
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            self.disconnect("the server closed the connection")
            return
        if opcode not in (websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_BINARY):
            return  # ping (answered by websocket-client) or pong
        frame = parse_frame(data)
        self.state.frames_received += 1
        self.dirty = True
        for event in frame.events:
            self.add(event)

    def add(self, event: LibraryEvent) -> None:
        now = self.clock()
        if not self.pending:
            self.first_pending = now
        self.last_pending = now
        self.pending[event.rating_key] = event
        self.state.events_received += 1
        self.state.last_event_at = timezone.now()
        self.state.last_event_summary = event.summary()[:_SUMMARY_LEN]

    def keep_alive(self) -> None:
        assert self.ws is not None
        now = self.clock()
        if now - self.last_heard > self.settings.silence_limit:
            self.disconnect(f"no frame or pong for {self.settings.silence_limit:g} s")
            return
        if now - self.last_ping >= self.settings.ping_interval:
            self.last_ping = now
            try:
                self.ws.ping()
            except (websocket.WebSocketException, OSError) as error:
                self.disconnect(error)

    def flush_if_due(self) -> None:
        if not self.pending:
            return
        now = self.clock()
        if (
            now - self.last_pending >= self.settings.debounce
            or now - self.first_pending >= self.settings.max_wait
        ):
            self.flush()

    def flush(self) -> SyncRun | None:
        """Ask for one sync of every pending item; kept pending if the database is unreachable."""
        if not self.pending:
            return None
        source = self.source or MediaSource.objects.get(pk=self.source_id)
        libraries = {library.section_key: library for library in Library.objects.filter(source=source)}
        wanted = [
            event
            for event in self.pending.values()
            if event.section_key not in libraries or libraries[event.section_key].sync_enabled
        ]
        keys = [event.rating_key for event in wanted]
        # All in one known library: a queued sync of that library (a webhook's) covers them.
        sections = {event.section_key for event in wanted}
        library = libraries.get(sections.pop()) if len(sections) == 1 else None
        run = None
        if keys:
            run = self._guarded(lambda: self.request(source, keys, library), "queueing a sync")
            if run is None:
                return None
            self.state.last_sync_run = run
        self.pending.clear()
        self.save_state()
        return run

    def disconnect(self, error: BaseException | str) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):  # a broken socket may fail to close; it is gone either way
                self.ws.shutdown()
        self.ws = None
        now = self.clock()
        if self.connected_at is not None and now - self.connected_at >= self.settings.stable_after:
            self.failures = 0
        self.connected_at = None
        self.failures += 1
        delay = self.backoff(self.failures)
        self.next_attempt = now + delay
        message = describe_error(error)
        logger.warning(
            "Live updates of source %s interrupted (%s); reconnecting in %.1f s",
            self.source_id,
            message,
            delay,
        )
        self.state.status = ListenerStatus.DISCONNECTED
        self.state.connected_since = None
        self.state.last_error = message
        self.state.last_error_at = timezone.now()
        self.save_state()

    def backoff(self, failures: int) -> float:
        base = min(self.settings.backoff_max, self.settings.backoff_first * 2 ** (failures - 1))
        return base * (0.5 + self.jitter() / 2)  # many stations don't hammer a restarted server in step

    def close(self) -> None:
        """Stop for good: ask for what is pending, close the socket, say so in the state row."""
        self.flush()
        if self.ws is not None:
            with contextlib.suppress(Exception):  # already broken
                self.ws.close(timeout=0.5)
            self.ws = None
        self.state.status = ListenerStatus.STOPPED
        self.state.connected_since = None
        self.save_state()

    # --- state row -----------------------------------------------------------------------------

    def save_state_if_due(self) -> None:
        if self.clock() - self.last_saved >= self.settings.state_interval and (self.dirty or self.pending):
            self.save_state()
        elif self.clock() - self.last_saved >= self.settings.rescan_interval:
            self.save_state()  # the heartbeat: `seen_at` says the listener is alive

    def save_state(self) -> None:
        self.last_saved = self.clock()
        self.dirty = False
        state = self.state
        state.seen_at = timezone.now()
        values = {
            name: getattr(state, name)
            for name in (
                "status", "connected_since", "seen_at", "frames_received", "events_received", "connects",
                "last_event_at", "last_event_summary", "last_error", "last_error_at", "last_sync_run_id",
            )
        }  # fmt: skip
        self._guarded(
            lambda: NotificationListenerState.objects.update_or_create(
                source_id=self.source_id, defaults=values
            ),
            "saving the listener state",
        )

    def _guarded(self, action: Callable, doing: str):
        """Run a database action; a lost database connection is reopened on the next try."""
        try:
            return action()
        except Exception as error:
            logger.warning(
                "Live updates of source %s: %s failed: %s", self.source_id, doing, describe_error(error)
            )
            connection.close()
            return None


def heartbeat_path() -> Path:
    """Touched every rescan while the service loop runs; the container healthcheck reads its age."""
    return Path(settings.DATA_DIR) / "listen" / "heartbeat"


def touch_heartbeat() -> None:
    path = heartbeat_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError as error:
        logger.warning("Could not touch the listener heartbeat %s: %s", path, error)


class ListenerService:
    """One listener thread per enabled Plex source, until SIGTERM or SIGINT."""

    def __init__(
        self,
        settings: ListenerSettings | None = None,
        *,
        factory: Callable[..., SourceListener] = SourceListener,
    ):
        self.settings = settings or ListenerSettings()
        self.factory = factory
        self.stopping = threading.Event()
        self.listeners: dict[int, tuple[threading.Thread, SourceListener, threading.Event, tuple]] = {}

    def wanted(self) -> dict[int, tuple]:
        """Sources to listen to, each with what a restart depends on (its URL and token)."""
        rows = MediaSource.objects.filter(kind=SourceKind.PLEX, enabled=True).exclude(base_url="")
        return {source.pk: (source.base_url, source.token) for source in rows if source.token}

    def reconcile(self) -> None:
        close_old_connections()
        wanted = self.wanted()
        for source_id, (thread, _listener, stop, fingerprint) in list(self.listeners.items()):
            if wanted.get(source_id) != fingerprint or not thread.is_alive():
                stop.set()
                thread.join(timeout=10)
                del self.listeners[source_id]
        for source_id, fingerprint in wanted.items():
            if source_id not in self.listeners:
                self.start(source_id, fingerprint)

    def start(self, source_id: int, fingerprint: tuple) -> None:
        stop = threading.Event()
        listener = self.factory(source_id, settings=self.settings)
        thread = threading.Thread(
            target=self._run_listener, args=(listener, stop), name=f"listen-source-{source_id}", daemon=True
        )
        self.listeners[source_id] = (thread, listener, stop, fingerprint)
        thread.start()

    def _run_listener(self, listener: SourceListener, stop: threading.Event) -> None:
        try:
            while not stop.is_set() and not self.stopping.is_set() and not listener.stopped:
                idle = listener.step()
                if idle:
                    stop.wait(idle)
        except Exception:
            logger.exception(
                "The listener of source %s failed; it restarts at the next rescan", listener.source_id
            )
        finally:
            listener.close()
            connection.close()

    def stop_all(self) -> None:
        self.stopping.set()
        for thread, _listener, stop, _fingerprint in self.listeners.values():
            stop.set()
            thread.join(timeout=10)
        self.listeners.clear()

    def install_signal_handlers(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self.stopping.set())

    def run(self) -> int:
        self.install_signal_handlers()
        logger.info("Live-update listener started")
        try:
            while not self.stopping.is_set():
                touch_heartbeat()
                try:
                    self.reconcile()
                except Exception:
                    logger.exception("Could not read the sources to listen to; trying again")
                    connection.close()
                self.stopping.wait(self.settings.rescan_interval)
        finally:
            self.stop_all()
            logger.info("Live-update listener stopped")
        return 0
