"""A loopback relay that lets ffmpeg read a Plex Part without ever seeing the Plex token.

Items with no local copy play from the Plex server: `GET {server}{Part.key}` with the token in
the `X-Plex-Token` header and Range requests for seeking (PLEX_LIVE_AND_AUTH_NOTES.md §8).
ffmpeg could fetch that itself, but only with the token on its command line (`?X-Plex-Token=` in
the URL, or `-headers "X-Plex-Token: …"`), and a command line is public: any user of the machine
sees it in `ps` and /proc/<pid>/cmdline, ffmpeg prints its input URL in error messages, and our
CommandError keeps argv. So the token never goes to ffmpeg:

- each worker process runs one small threaded HTTP server on 127.0.0.1, on a random port,
  started on first use (`relay()`; a forked worker starts its own);
- a job (`PartRelay.open`) registers one Part under a random 256-bit nonce and gets back a URL
  `http://127.0.0.1:<port>/part/<nonce>/<file name>` (the name only tells ffmpeg the format);
  the nonce dies with the job (`RelayJob.close`, or its time-to-live as a backstop), so a URL
  seen in `ps` is worth nothing once that encode is over, and never exposes the token;
- each request ffmpeg makes is forwarded to Plex with the token header, ffmpeg's `Range` header
  and nothing else of ffmpeg's; the answer is streamed back with its status (200 or 206) and its
  `Content-Length`, `Content-Range`, `Accept-Ranges` and `Content-Type`, so ffmpeg can seek (an
  MP4 whose moov atom sits at the end needs a read at the end, then one back at the data);
- an error from Plex reaches ffmpeg as the same status (so it stops), and the job keeps a typed
  error for the caller, worded for staff: 401 the token was refused, 403 the owner forbids
  downloads, 404 no such part, 503/509 Plex has no bandwidth or playback slot for it now.

Where the token can't leak from here: it is in a request header only, never in a URL, so the
URLs inside requests/urllib3 exceptions and debug logs hold the Part path at most; our messages
are written from the status and the exception's type, never its text; redirects are not followed
(requests would re-send a custom header such as X-Plex-Token to whatever host a 3xx names); the
job's repr leaves the token out; the access log names the part key, not the nonce.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import requests
import urllib3

from catalog.plex.errors import PlexError

logger = logging.getLogger(__name__)

CHUNK = 256 * 1024
# How long to wait for Plex to connect, and between bytes of its answer.
UPSTREAM_TIMEOUT = (10.0, 60.0)
RESPONSE_HEADERS = ("Content-Type", "Content-Length", "Content-Range", "Accept-Ranges", "Last-Modified")
_RELAY_PATH = re.compile(r"^/part/(?P<nonce>[A-Za-z0-9_-]{43})/[^/?#]*$")


class RemotePartError(PlexError):
    """Plex would not (or could not) send a Part's bytes. `retryable`: it may clear up by itself."""

    retryable = False

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class PartTokenRefused(RemotePartError):
    """401: the source's token is no longer valid."""


class PartDownloadForbidden(RemotePartError):
    """403: the server's owner does not allow downloads (remote playback needs them)."""


class PartNotFound(RemotePartError):
    """404: the server has no such part (it was replaced or removed since the last sync)."""


class PartBusy(RemotePartError):
    """503/509: no bandwidth or playback slot on the server right now."""

    retryable = True


class PartUnreachable(RemotePartError):
    """The server could not be reached, or broke off mid-answer."""

    retryable = True


def error_for_status(status: int, base_url: str, part_key: str) -> RemotePartError:
    where = f"{base_url}{part_key}"
    if status == 401:
        return PartTokenRefused(f"Plex refused the token (401) for {where}: sign in to Plex again", status)
    if status == 403:
        return PartDownloadForbidden(
            f"Plex forbids downloading {where} (403): the server owner must allow downloads, "
            "or add a path mapping so the file is read locally",
            status,
        )
    if status == 404:
        return PartNotFound(f"Plex has no part {where} (404): sync the source again", status)
    if status in (503, 509):
        return PartBusy(f"Plex can't stream {where} now ({status}: no bandwidth or playback slot)", status)
    if status >= 500:
        return PartBusy(f"Plex answered {status} for {where}", status)
    return RemotePartError(f"Plex answered {status} for {where}", status)


@dataclass(eq=False)
class RelayJob:
    """One Part made readable on loopback for the length of one job (an encode, a live transcode)."""

    relay: PartRelay = field(repr=False)
    nonce: str = field(repr=False)
    base_url: str
    part_key: str
    token: str = field(repr=False)
    client_identifier: str = field(default="retrovue", repr=False)
    expires_at: float = 0.0  # time.monotonic()
    error: RemotePartError | None = None  # the first failure Plex answered with
    requests_made: int = 0
    bytes_relayed: int = 0
    closed: bool = False
    session: requests.Session = field(default_factory=requests.Session, repr=False)

    @property
    def url(self) -> str:
        """What ffmpeg opens (no token in it, and useless once the job is closed)."""
        name = self.part_key.rsplit("/", 1)[-1].split("?", 1)[0] or "part"
        return f"http://127.0.0.1:{self.relay.port}/part/{self.nonce}/{quote(name)}"

    @property
    def upstream_url(self) -> str:
        return f"{self.base_url}{self.part_key}"

    @property
    def live(self) -> bool:
        return not self.closed and time.monotonic() < self.expires_at

    def fail(self, error: RemotePartError) -> None:
        if self.error is None:
            self.error = error
        logger.warning("Remote part: %s", error)

    def close(self) -> None:
        self.closed = True
        self.relay._forget(self.nonce)
        self.session.close()

    def __enter__(self) -> RelayJob:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class PartRelay:
    """The loopback HTTP server ffmpeg reads remote Parts from (see the module docstring)."""

    def __init__(self, host: str = "127.0.0.1", *, timeout: tuple[float, float] = UPSTREAM_TIMEOUT):
        self.timeout = timeout
        self._jobs: dict[str, RelayJob] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="plex-relay", daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def open(
        self,
        *,
        base_url: str,
        token: str,
        part_key: str,
        ttl: float,
        client_identifier: str = "retrovue",
    ) -> RelayJob:
        """Register a Part for `ttl` seconds at most (close the job as soon as it is done)."""
        if not part_key.startswith("/"):
            raise ValueError("a Part key is a path on the server")
        job = RelayJob(
            relay=self,
            nonce=secrets.token_urlsafe(32),
            base_url=base_url.rstrip("/"),
            part_key=part_key,
            token=token,
            client_identifier=client_identifier,
            expires_at=time.monotonic() + ttl,
        )
        job.session.headers.clear()  # no default Accept-Encoding: the bytes must pass unchanged
        with self._lock:
            self._prune()
            self._jobs[job.nonce] = job
        return job

    def job(self, nonce: str) -> RelayJob | None:
        with self._lock:
            for known, job in self._jobs.items():
                if hmac.compare_digest(known, nonce):
                    return job if job.live else None
        return None

    def active_jobs(self) -> int:
        with self._lock:
            self._prune()
            return len(self._jobs)

    def _forget(self, nonce: str) -> None:
        with self._lock:
            self._jobs.pop(nonce, None)

    def _prune(self) -> None:
        for nonce in [nonce for nonce, job in self._jobs.items() if not job.live]:
            self._jobs.pop(nonce).session.close()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        with self._lock:
            jobs, self._jobs = list(self._jobs.values()), {}
        for job in jobs:
            job.closed = True
            job.session.close()

    # --- one request -------------------------------------------------------------------------

    def forward(self, handler: BaseHTTPRequestHandler, job: RelayJob) -> None:
        headers = {
            "X-Plex-Token": job.token,
            "X-Plex-Client-Identifier": job.client_identifier,
            "X-Plex-Product": "RetroVue",
            "Accept": "*/*",
            "Accept-Encoding": "identity",
        }
        if range_header := handler.headers.get("Range"):
            headers["Range"] = range_header
        job.requests_made += 1
        try:
            upstream = job.session.get(
                job.upstream_url, headers=headers, stream=True, timeout=self.timeout, allow_redirects=False
            )
        except requests.RequestException as error:
            job.fail(PartUnreachable(f"could not reach {job.base_url} ({type(error).__name__})"))
            _refuse(handler, 502)
            return
        with upstream:
            status = upstream.status_code
            if status not in (200, 206):
                if 300 <= status < 400:
                    job.fail(RemotePartError(f"Plex redirected {job.upstream_url} ({status})", status))
                    status = 502
                else:
                    job.fail(error_for_status(status, job.base_url, job.part_key))
                _refuse(handler, status if status < 600 else 502)
                return
            handler.send_response(status)
            for name in RESPONSE_HEADERS:
                if value := upstream.headers.get(name):
                    handler.send_header(name, value)
            handler.end_headers()
            try:
                for chunk in upstream.raw.stream(CHUNK, decode_content=False):
                    if not job.live:
                        handler.close_connection = True
                        return
                    handler.wfile.write(chunk)
                    job.bytes_relayed += len(chunk)
            except (BrokenPipeError, ConnectionResetError):  # ffmpeg seeked elsewhere, or stopped
                handler.close_connection = True
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
                # Plex broke off mid-answer: hang up so ffmpeg sees a short read, not silence.
                job.fail(
                    PartUnreachable(
                        f"{job.base_url} broke off sending {job.part_key} ({type(error).__name__})"
                    )
                )
                handler.close_connection = True


def _refuse(handler: BaseHTTPRequestHandler, status: int) -> None:
    handler.send_response(status)
    handler.send_header("Content-Length", "0")
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.close_connection = True


def _handler_for(relay: PartRelay) -> type[BaseHTTPRequestHandler]:
    class RelayHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive between ffmpeg's range requests
        server_version = "RetroVueRelay"

        def log_message(self, format, *args):
            pass  # the request line holds the nonce; `do_GET` logs the part key instead

        def do_GET(self):
            if not ipaddress.ip_address(self.client_address[0]).is_loopback:
                return _refuse(self, 403)
            match = _RELAY_PATH.match(self.path)
            job = relay.job(match["nonce"]) if match else None
            if job is None:
                return _refuse(self, 404)
            logger.debug("Relaying %s (range %s)", job.part_key, self.headers.get("Range") or "none")
            relay.forward(self, job)

    return RelayHandler


_relay: PartRelay | None = None
_relay_pid: int | None = None
_relay_lock = threading.Lock()


def relay() -> PartRelay:
    """This process's relay, started on first use (a forked child starts its own)."""
    global _relay, _relay_pid
    with _relay_lock:
        if _relay is None or _relay_pid != os.getpid():
            _relay, _relay_pid = PartRelay(), os.getpid()
        return _relay


def open_part(source, part_key: str, *, ttl: float) -> RelayJob:
    """A relay job for one Part of a Plex `MediaSource` (its token stays in this process)."""
    return relay().open(
        base_url=source.base_url,
        token=source.token,
        part_key=part_key,
        ttl=ttl,
        client_identifier=source.client_identifier or "retrovue",
    )


def _new_lock_after_fork() -> None:
    global _relay_lock
    _relay_lock = threading.Lock()  # another thread may have held it at the fork


os.register_at_fork(after_in_child=_new_lock_after_fork)
