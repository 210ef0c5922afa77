"""``PlexEmulator``: the object tests, benchmarks and the CLI hold on to.

Typical use::

    with PlexEmulator(EmulatorConfig(seed=7, shows=20)) as emu:
        plex = PlexServer(emu.url, emu.token)
        emu.library.touch(some_rating_key)
        emu.faults.schedule("http500", r"/library/sections/\\d+/all", nth=2)
        assert emu.requests.count("/all") == ...

``start()`` binds ``config.host``/``config.port`` (port 0 picks a free one) and
serves from a daemon thread; ``stop()`` interrupts latency and timeout-fault
waits, closes idle keep-alive connections and joins the thread.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable

from .config import EmulatorConfig
from .containers import machine_identifier
from .faults import FaultInjector
from .handler import EmulatorHTTPServer
from .library import Library
from .notifications import NotificationHub
from .part_files import PartFiles
from .routes import PlexRoutes
from .stats import RequestStats


class PlexEmulator:
    """A Plex Media Server stand-in with a generated library, faults and counters."""

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
        **overrides: object,
    ) -> None:
        config = config or EmulatorConfig()
        if overrides:
            config = config.with_changes(**overrides)
        self.config = config
        self.library = Library(config, clock=clock)
        self.faults = FaultInjector(seed=config.seed, rate=config.fault_rate, kinds=config.fault_kinds)
        self.requests = RequestStats()
        self.parts = PartFiles()  # real files behind Part keys (see part_files)
        self.routes = PlexRoutes(config, self.library)
        self.latency_ms = config.latency_ms
        # Tokens plex.tv handed out for this server (see plextv.py); revoking one removes it here.
        self.granted_tokens: set[str] = set()
        self._stopping = threading.Event()
        self.notifications = NotificationHub(self.library, self._stopping)
        self.notifications.instrument()
        self._http: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- identity -----------------------------------------------------------------------------

    @property
    def artwork(self):
        """The image responses and their corrupt-image knob (``plex_emulator.artwork``)."""
        return self.routes.artwork

    @property
    def token(self) -> str:
        return self.config.token

    def accepts_token(self, offered: str) -> bool:
        """The configured token, or one plex.tv granted and has not revoked."""
        known = [self.token, *list(self.granted_tokens)]
        return any(hmac.compare_digest(offered.encode(), token.encode()) for token in known)

    @property
    def machine_identifier(self) -> str:
        return machine_identifier(self.config)

    @property
    def address(self) -> tuple[str, int]:
        if self._http is None:
            raise RuntimeError("the emulator is not running; call start() first")
        host, port = self._http.server_address[:2]
        return str(host), int(port)

    @property
    def port(self) -> int:
        return self.address[1]

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"

    # -- lifecycle ------------------------------------------------------------------------------

    def bind(self) -> PlexEmulator:
        """Open the listening socket without serving yet (lets the CLI print the port first)."""
        if self._http is None:
            self._stopping.clear()
            self._http = EmulatorHTTPServer((self.config.host, self.config.port), self)
        return self

    def start(self) -> PlexEmulator:
        """Serve from a background daemon thread."""
        if self._thread is not None:
            return self
        http = self.bind()._http
        self._thread = threading.Thread(
            target=http.serve_forever, kwargs={"poll_interval": 0.05}, name="plex-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        http, thread = self._http, self._thread
        if http is None:
            return
        self._stopping.set()
        if thread is not None:
            http.shutdown()
            thread.join(timeout=10)
        http.close_connections()
        http.server_close()
        self._http, self._thread = None, None

    def wait(self, seconds: float) -> bool:
        """Sleep that ``stop()`` interrupts; True when interrupted."""
        return self._stopping.wait(seconds)

    @property
    def running(self) -> bool:
        return self._http is not None

    def __enter__(self) -> PlexEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self.running else "stopped"
        return f"<PlexEmulator seed={self.config.seed} {where}>"
