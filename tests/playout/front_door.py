"""One front door in front of several playout "machines": each supervisor's HLS root served by its
own origin nginx (deploy/nginx-origin.conf), and one nginx running the shipped deploy/nginx.conf
in front of them and of Django, both rendered by tests/deploy/nginx_runner.py. A client reads
every channel through the front door only, as a player does, and notes which machine made the
segments it got (from the segment file's name, unique per ffmpeg run).

Used by tests/playout/test_front_door_failover.py and bench/failover.py --via-front-door.
"""

from __future__ import annotations

import http.client
import time
from dataclasses import dataclass, field
from pathlib import Path

from playout.hls import PLAYLIST_NAME, LivePlaylist
from tests.deploy import nginx_runner
from tests.playout.multi_supervisor import ChannelTrail, Follower


def nginx_binary() -> str:
    binary = nginx_runner.nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed (bin/test installs it)")
    return binary


def start_origin(prefix: Path, hls_root: Path, port: int | None = None) -> nginx_runner.RunningNginx:
    """A machine's origin: its HLS root at http://127.0.0.1:<port>/hls/."""
    prefix.mkdir(parents=True, exist_ok=True)
    port = port or nginx_runner.free_port()
    conf = nginx_runner.render_origin(prefix, port=port, hls_root=hls_root)
    return nginx_runner.start(nginx_binary(), prefix, conf, port)


def start_front_door(prefix: Path, *, django_port: int, hls_root: Path) -> nginx_runner.RunningNginx:
    """The shipped front door, in front of Django on `django_port`, on the machine whose HLS root
    is `hls_root` (its channels are read from disk, the others' proxied to their origins)."""
    prefix.mkdir(parents=True, exist_ok=True)
    hls_root.mkdir(parents=True, exist_ok=True)
    port = nginx_runner.free_port()
    conf = nginx_runner.render(prefix, port=port, upstream_port=django_port, hls_root=hls_root)
    return nginx_runner.start(nginx_binary(), prefix, conf, port)


def get(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@dataclass
class FrontDoorTrail(ChannelTrail):
    """What a player following a channel through the front door saw, beyond `ChannelTrail`:
    answers other than 200, and segments it could not download."""

    refusals: list[tuple[float, int]] = field(default_factory=list)  # (monotonic, status) for playlists
    missing_segments: list[tuple[float, str, int]] = field(default_factory=list)
    downloaded: int = 0


class FrontDoorFollower(Follower):
    """Reads each channel's playlist through the front door every `interval` and downloads every
    new segment through it too. `machines` (name → HLS root) tell which machine made a segment."""

    def __init__(
        self, channels: dict[str, int], port: int, machines: dict[str, Path], interval: float = 0.25
    ):
        super().__init__(channels, interval)
        self.trails = {number: FrontDoorTrail(number, seconds) for number, seconds in channels.items()}
        self.port = port
        self.machines = machines

    def machine_of(self, number: str, uri: str) -> str:
        for name, root in self.machines.items():
            if (root / number / uri).exists():
                return name
        return "unknown"

    def fetch(self, number: str) -> tuple[str, str] | None:
        trail = self.trails[number]
        try:
            status, body = get(self.port, f"/hls/{number}/{PLAYLIST_NAME}")
        except OSError:
            status, body = 0, b""
        if status != 200:
            trail.refusals.append((time.monotonic(), status))
            return None
        text = body.decode()
        playlist = LivePlaylist.parse(text, trail.segment_seconds)
        if not playlist.segments:
            return None
        newest = playlist.segments[-1]
        if not trail.arrivals or newest.msn > trail.arrivals[-1][1]:
            self._download(number, trail, newest.uri)
        return self.machine_of(number, newest.uri), text

    def _download(self, number: str, trail: FrontDoorTrail, uri: str) -> None:
        try:
            status, body = get(self.port, f"/hls/{number}/{uri}")
        except OSError:
            status, body = 0, b""
        if status == 200 and body[:1] == b"\x47":
            trail.downloaded += 1
        else:
            trail.missing_segments.append((time.monotonic(), uri, status))
