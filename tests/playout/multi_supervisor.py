"""Several playout supervisors as separate processes, each with its own data folder and HLS root
(standing for separate machines), sharing one station through PostgreSQL and one pre-generation
store (the shared volume); and a client that follows each channel to the machine airing it.

Used by tests/playout/test_failover.py and bench/failover.py.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.utils import timezone

from playout import placement
from playout.hls import PLAYLIST_NAME, LivePlaylist
from retrovue.subprocesses import start_process

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


class SupervisorRun:
    """`python -m playout` on its own data folder and HLS root; the pregen store is shared."""

    def __init__(
        self,
        name: str,
        root: Path,
        *,
        database_url: str,
        pregen_root: Path,
        slates: Path,
        capacity: float,
        origin: str | None = None,
    ):
        self.name = name
        self.data = root / name
        self.hls = self.data / "hls"
        (self.data / "playout").mkdir(parents=True, exist_ok=True)
        if slates.is_dir():  # made once, as a machine keeps its own
            shutil.copytree(slates, self.data / "playout" / "slates", dirs_exist_ok=True)
        self.log_path = root / f"{name}.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "retrovue.settings_test"),
            "DATABASE_URL": database_url,
            "RETROVUE_DATA_DIR": str(self.data),
            "RETROVUE_HLS_ROOT": str(self.hls),
            "RETROVUE_PREGEN_ROOT": str(pregen_root),
            "RETROVUE_LOG_LEVEL": "INFO",
        }
        argv = [sys.executable, "-m", "playout", "--worker-id", name, "--capacity", str(capacity)]
        # Without a front door the client reads each machine's HLS root as a file:// "origin".
        self.origin = origin or self.hls.as_uri()
        argv += ["--origin", self.origin]
        with self.log_path.open("ab") as log:
            self.process = start_process(
                argv, env=self.env, cwd=str(PROJECT_ROOT), stdout=log, stderr=subprocess.STDOUT
            )
        self.ffmpegs: set[int] = set()

    def note_children(self) -> None:
        if self.process.poll() is None:
            self.ffmpegs |= set(_children(self.process.pid))

    def kill(self) -> None:
        """kill -9 of the supervisor alone, as when its machine dies (its ffmpegs, in process
        groups of their own, lose their feed and end; `clean_up` makes sure)."""
        self.note_children()
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self, timeout: float = 60) -> int:
        self.note_children()
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def clean_up(self) -> None:
        if self.process.poll() is None:
            self.note_children()
            with contextlib.suppress(OSError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        for pid in self.ffmpegs:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]


@dataclass
class Sighting:
    """One read of a channel's playlist at its origin."""

    at: float  # monotonic
    origin: str
    media_sequence: int
    discontinuity_sequence: int
    newest_msn: int
    newest_discontinuity: int  # the discontinuity number of the newest segment
    newest_ends_at: datetime
    newest_starts_at: datetime
    oldest_starts_at: datetime


@dataclass
class ChannelTrail:
    number: str
    segment_seconds: int
    sightings: list[Sighting] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    arrivals: list[tuple[float, int, str, datetime]] = field(default_factory=list)  # (at, msn, origin, pdt)

    def note(self, sighting: Sighting) -> None:
        last = self.sightings[-1] if self.sightings else None
        if last is not None:
            if sighting.media_sequence < last.media_sequence:
                self.errors.append(
                    f"channel {self.number}: media sequence went back {last.media_sequence} → "
                    f"{sighting.media_sequence} ({last.origin} → {sighting.origin})"
                )
            if sighting.discontinuity_sequence < last.discontinuity_sequence:
                self.errors.append(f"channel {self.number}: discontinuity sequence went back")
            if sighting.origin != last.origin and sighting.newest_discontinuity <= last.newest_discontinuity:
                self.errors.append(
                    f"channel {self.number}: no discontinuity between {last.origin} and {sighting.origin}"
                )
        if last is None or sighting.newest_msn > last.newest_msn:
            self.arrivals.append(
                (sighting.at, sighting.newest_msn, sighting.origin, sighting.newest_starts_at)
            )
        self.sightings.append(sighting)

    def first_arrival_after(self, moment: float, origin: str | None = None) -> float | None:
        for at, _, where, _ in self.arrivals:
            if at > moment and (origin is None or where == origin):
                return at
        return None

    def longest_wait(self, since: float, until: float) -> float:
        """The longest wall time between new segments reaching a follower within the span."""
        times = [at for at, *_ in self.arrivals if since <= at <= until]
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)


class Follower(threading.Thread):
    """Reads each channel's playlist where `placement.origin_for` says it airs, every `interval`
    (a player that follows the channel to its new origin)."""

    def __init__(self, channels: dict[str, int], interval: float = 0.25):
        super().__init__(daemon=True)
        self.trails = {number: ChannelTrail(number, seconds) for number, seconds in channels.items()}
        self.interval = interval
        self.halt = threading.Event()

    def run(self) -> None:
        from django.db import connections

        try:
            while not self.halt.is_set():
                for number, trail in self.trails.items():
                    self._read(number, trail)
                self.halt.wait(self.interval)
        finally:
            connections.close_all()

    def fetch(self, number: str) -> tuple[str, str] | None:
        """(where it was read, the playlist's text), or None when there was nothing to read."""
        origin = placement.origin_for(number, timezone.now())
        if not origin:
            return None
        try:
            with urllib.request.urlopen(f"{origin}/{number}/{PLAYLIST_NAME}", timeout=5) as response:
                return origin, response.read().decode()
        except OSError:
            return None

    def _read(self, number: str, trail: ChannelTrail) -> None:
        fetched = self.fetch(number)
        if fetched is None:
            return
        origin, text = fetched
        playlist = LivePlaylist.parse(text, trail.segment_seconds)
        if not playlist.segments:
            return
        newest = playlist.segments[-1]
        trail.note(
            Sighting(
                at=time.monotonic(),
                origin=origin,
                media_sequence=playlist.media_sequence,
                discontinuity_sequence=playlist.discontinuity_sequence,
                newest_msn=newest.msn,
                newest_discontinuity=playlist.tail_discontinuity,
                newest_ends_at=newest.ends_at,
                newest_starts_at=newest.program_date_time,
                oldest_starts_at=playlist.segments[0].program_date_time,
            )
        )

    def stop(self) -> None:
        self.halt.set()
        if self.is_alive():
            self.join(timeout=10)


def build_station(count: int, *, profile, pieces: list[tuple], minutes: float, first_number: int = 101):
    """`count` always-on channels whose fine log loops `pieces` ((item, in_ms, out_ms), each with a
    READY pre-generated file) from a little before now for `minutes`; staggered per channel."""
    from scheduling.models import Channel, Piece, ProgramEntry

    now = timezone.now().replace(microsecond=0)
    numbers = []
    for index in range(count):
        number = str(first_number + index)
        channel = Channel.objects.create(
            number=number, name=f"Channel {number}", time_zone="UTC", stream_profile=profile
        )
        numbers.append(number)
        start = now - timedelta(seconds=10 + index)
        slots = []
        turn = index
        while start < now + timedelta(minutes=minutes):
            item, in_ms, out_ms = pieces[turn % len(pieces)]
            stop = start + timedelta(milliseconds=out_ms - in_ms)
            slots.append((item, in_ms, out_ms, start, stop))
            start = stop
            turn += 1
        programs = ProgramEntry.objects.bulk_create(
            ProgramEntry(channel=channel, start=begin, stop=end, title="Program") for *_, begin, end in slots
        )
        Piece.objects.bulk_create(
            Piece(channel=channel, program=program, sequence=0, start=begin, stop=end, kind="content",
                  playable=item, in_ms=in_ms, out_ms=out_ms)
            for program, (item, in_ms, out_ms, begin, end) in zip(programs, slots, strict=True)
        )  # fmt: skip
    return numbers


def holders() -> dict[str, list[str]]:
    """Lease owner → channel numbers, for live leases."""
    from playout.models import ChannelRuntime

    held: dict[str, list[str]] = {}
    for owner, number in ChannelRuntime.objects.filter(lease_expires_at__gt=timezone.now()).values_list(
        "lease_owner", "channel__number"
    ):
        if owner:
            held.setdefault(owner, []).append(number)
    return held


def wait_for(predicate, *, timeout: float, interval: float = 0.2, describe: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout:g} s waiting for {describe}")
