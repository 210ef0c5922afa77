"""The playout supervisor: keeps one ffmpeg per on-air channel alive, on any number of workers.

Run it as its own long-lived process, `python -m retrovue playout` (one per playout box), not as a
Celery task: a task that never returns would hold a worker slot for ever, be redelivered by the
broker's visibility timeout (Redis: one hour) while still running, and be killed by a warm
shutdown's time limit instead of stopping its channels cleanly. The process also hosts the feed
server every channel's ffmpeg reads from (see `playout.feed`).

The loop runs small steps, every `POLL_SECONDS`:

- `claim_channels`: for each enabled, always-on channel without a live lease, take the lease with a
  conditional UPDATE (free, expired, or already ours) and count the rows: exactly one worker wins.
  A worker claims while its load (estimated CPU cores of its channels) is under its fair share of
  the live workers' capacity (`playout.placement`); `--max-channels` caps the count as well;
- `beat` writes this worker's `PlayoutWorker` row (capacity, load, origin), which the others read;
- `rebalance` hands channels to the least used peer while this worker stays at least as used, and
  `adopt_handed_over` starts what a peer handed this one (`hand_over`: stop here, leave the
  counters and the schedule time reached in the row, pass the lease in one conditional UPDATE);
- `renew_leases`: a heartbeat extends this worker's leases; a lease found taken (this worker
  stalled past expiry and another took over) stops the local channel at once;
- `check_channel`: start ffmpeg when due, take in new segments, and when the process exited or
  produced no segment for three target durations, kill its process group and restart it, at once
  for a first failure, then with exponential backoff (a crash loop must not spin a core), the
  count reset after a minute on air; a crash loop (`CRASH_LOOP_FAILURES` in a row) raises a staff
  notice (admin banner, e-mail to `ADMINS`), cleared once the channel stays on air;
- state (media sequence, discontinuity sequence, last segment, restarts, last error, pid) goes to
  the channel's `ChannelRuntime` row so the monitor, the API, and whichever worker runs the channel
  next see it. The counters of channels that took in segments are written once per step, in one
  statement for all of them, and only then are their playlists published (`_write_segment_state`):
  one UPDATE per channel per segment was a third of the supervisor's Python at 100 channels, and
  written first, the row is never behind what a client was given (a takeover continues from it).

SIGTERM or SIGINT set a flag; the loop then drains: marks this worker draining, hands every channel
to a live peer with room (the rest are released), and exits. A worker that dies instead loses its
leases `LEASE_SECONDS` after its last beat and the others take its channels over. See
docs/playout-machines.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections, connections
from django.db.models import F, Q
from django.utils import timezone

from playout import as_run, placement
from playout.channel_process import ChannelProcess, Handover
from playout.feed_pipes import FeedServer
from playout.models import ChannelRuntime, RuntimeState
from playout.runtime_counters import write_counters
from retrovue.core.notices import clear_notice, raise_notice
from scheduling.models import Channel

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.25
# A worker that stops beating loses its channels this long after its last beat; the others then
# take them at their next look (LEASE_RENEW_SECONDS) and air them within a second or two: under
# the 15 s a station may be off the air on one channel when a machine dies.
LEASE_SECONDS = 8
# Heartbeat, the look for unclaimed channels and rebalancing this often; well inside the lease.
LEASE_RENEW_SECONDS = 2
# Channels another worker handed over (drain, rebalance) are picked up this often.
ADOPT_SECONDS = 0.5
# How often the channels' costs (copy or live transcode, from how far ahead each is pre-generated)
# are worked out again for claiming and sharing. It reads every piece of the next ten minutes of every
# wanted channel and its store rows: at 50 channels a quarter of the supervisor's CPU when it ran at
# every lease look (2 s). A cost only moves as pre-generation catches up or falls back (minutes), and
# a channel the worker has not costed yet (newly wanted) gets it worked out at once.
COSTS_REFRESH_SECONDS = 30
# A run that stays on air this long wipes the failure count.
HEALTHY_SECONDS = 60
BACKOFF_CAP_SECONDS = 60
# This many failures in a row (none followed by a healthy minute) is a crash loop: staff are told.
CRASH_LOOP_FAILURES = 3


def backoff_seconds(consecutive_failures: int) -> float:
    """0 for the first failure (restart at once), then 1, 2, 4, … seconds, capped."""
    if consecutive_failures <= 1:
        return 0.0
    return float(min(BACKOFF_CAP_SECONDS, 2 ** (consecutive_failures - 2)))


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class ChannelSlot:
    """A channel this worker holds the lease of."""

    channel: Channel
    process: ChannelProcess
    start_at: float = 0.0  # monotonic time of the next (re)start
    failures: int = 0
    run_started: float | None = None
    on_air: bool = False
    notes: list[str] = field(default_factory=list)


class Supervisor:
    def __init__(
        self,
        *,
        worker_id: str | None = None,
        max_channels: int | None = None,
        channel_numbers: list[str] | None = None,
        capacity: float | None = None,
        origin: str = "",
        poll_seconds: float = POLL_SECONDS,
        lease_seconds: int = LEASE_SECONDS,
        clock: Callable[[], datetime] = timezone.now,
    ):
        self.worker_id = worker_id or default_worker_id()
        self.max_channels = max_channels
        self.capacity = placement.default_capacity() if capacity is None else capacity
        self.origin = origin or getattr(settings, "RETROVUE_PLAYOUT_ORIGIN", "")
        if self.origin:
            try:
                self.origin = placement.checked_origin(self.origin)
            except ValueError as error:  # the front door will ignore it: say so at start-up
                logger.warning(
                    "%s; the front door will serve this machine's channels from its own disk", error
                )
        self.costs: dict[int, float] = {}
        self.channel_numbers = channel_numbers
        self.poll_seconds = poll_seconds
        self.lease = timedelta(seconds=lease_seconds)
        # A peer counts (for shares, and to hand channels to) while it beat within half a lease:
        # a dead one stops counting before its leases expire, so no channel is handed to it.
        self.peer_fresh = self.lease / 2
        self.clock = clock
        self.server = FeedServer()
        self.slots: dict[int, ChannelSlot] = {}
        self.stopping = threading.Event()
        self._next_lease_work = 0.0
        self._next_adopt = 0.0
        self._next_costs = 0.0
        # Channels that published segments this step (→ whether it was their run's first), and
        # their runtime rows' ids, for the one write at the end of the step.
        self._published: dict[int, bool] = {}
        self._runtime_ids: dict[int, int] = {}

    # --- The loop ----------------------------------------------------------------------------------

    def run(self, *, install_signal_handlers: bool = True) -> int:
        if install_signal_handlers:
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, self._request_stop)
        self.server.start()
        as_run.worker_id = self.worker_id
        logger.info("Playout supervisor %s started (feed pipes in %s)", self.worker_id, self.server.directory)
        try:
            while not self.stopping.is_set():
                self.step()
                self.stopping.wait(self.poll_seconds)
        finally:
            self.shutdown()
            connections.close_all()
        return 0

    def _request_stop(self, signum, _frame) -> None:
        self.stopping.set()

    def step(self) -> None:
        close_old_connections()
        now = time.monotonic()
        if now >= self._next_lease_work:
            self._next_lease_work = now + LEASE_RENEW_SECONDS
            self.renew_leases()
            self.beat()
            self.claim_channels()
            self.rebalance()
            touch_heartbeat()
        if now >= self._next_adopt:
            self._next_adopt = now + ADOPT_SECONDS
            self.adopt_handed_over()
        for slot in list(self.slots.values()):
            try:
                self.check_channel(slot)
            except Exception:
                logger.exception("Channel %s: supervisor step failed", slot.channel.number)
        self._write_segment_state()

    def shutdown(self) -> None:
        """Drain: hand every channel to a live peer with room (it airs it within a second or so,
        continuing the playlist), give back what none can take, then leave."""
        try:
            placement.mark_draining(self.worker_id)
            self.drain()
        finally:
            for slot in list(self.slots.values()):
                self.release(slot, state=RuntimeState.STOPPED)
            placement.forget(self.worker_id)
            self.server.stop()
        logger.info("Playout supervisor %s stopped", self.worker_id)

    def drain(self) -> None:
        now = self.clock()
        peers = placement.live_peers(self.worker_id, now, self.peer_fresh, self.costs)
        for slot in sorted(self.slots.values(), key=lambda slot: slot.channel.sort_key):
            cost = self.cost_of(slot.channel)
            receiver = placement.receiver_for(peers, cost)
            if receiver is None:
                self.release(slot, state=RuntimeState.STOPPED)
                continue
            if self.hand_over(slot, receiver.worker_id):
                receiver.load += cost

    @property
    def load(self) -> float:
        return sum(self.cost_of(slot.channel) for slot in self.slots.values())

    def cost_of(self, channel: Channel) -> float:
        return self.costs.get(channel.pk, placement.copy_cost())

    def beat(self) -> None:
        placement.beat(
            self.worker_id,
            capacity=self.capacity,
            load=self.load,
            channels=len(self.slots),
            origin=self.origin,
            now=self.clock(),
        )

    # --- Leases ------------------------------------------------------------------------------------

    def wanted_channels(self):
        # Always-on channels, plus on-demand ones a viewer asked for within the idle time.
        recently_requested = Q(runtime__last_requested_at__gte=self.clock() - on_demand_idle())
        channels = Channel.objects.filter(
            Q(always_on=True) | recently_requested, enabled=True
        ).select_related("stream_profile")
        if self.channel_numbers:
            channels = channels.filter(number__in=self.channel_numbers)
        return channels.order_by("number")

    def claim_channels(self) -> None:
        """Take free channels while this worker's load is under its fair share (and within its
        capacity and `--max-channels`)."""
        wanted = list(self.wanted_channels())
        wanted_ids = {channel.pk for channel in wanted}
        for channel_id in [pk for pk in self.slots if pk not in wanted_ids]:
            self.release(self.slots[channel_id], state=RuntimeState.STOPPED)  # disabled meanwhile
        now = self.clock()
        if time.monotonic() >= self._next_costs or not wanted_ids <= self.costs.keys():
            self._next_costs = time.monotonic() + COSTS_REFRESH_SECONDS
            self.costs = placement.channel_costs(wanted, now)
        else:
            self.costs = {pk: cost for pk, cost in self.costs.items() if pk in wanted_ids}
        peers = placement.live_peers(self.worker_id, now, self.peer_fresh)
        share = placement.fair_share(
            self.capacity, self.capacity + sum(peer.capacity for peer in peers), sum(self.costs.values())
        )
        load = self.load
        for channel in wanted:
            if channel.pk in self.slots:
                continue
            if self.max_channels is not None and len(self.slots) >= self.max_channels:
                break
            cost = self.cost_of(channel)
            if self.slots and (
                load >= share - placement.EPSILON or load + cost > self.capacity + placement.EPSILON
            ):
                break
            if self.claim(channel):
                load += cost
                as_run.take_back(channel.pk)
                self.slots[channel.pk] = ChannelSlot(
                    channel=channel, process=ChannelProcess(channel, self.server)
                )
                logger.info("Channel %s: lease taken by %s", channel.number, self.worker_id)

    def claim(self, channel: Channel) -> bool:
        """Take the channel's lease if it is free, expired or ours: one conditional UPDATE."""
        ChannelRuntime.objects.get_or_create(channel=channel)
        now = self.clock()
        claimable = Q(lease_owner="") | Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
        claimable |= Q(lease_owner=self.worker_id)
        taken = ChannelRuntime.objects.filter(claimable, channel=channel).update(
            lease_owner=self.worker_id, lease_expires_at=now + self.lease, state=RuntimeState.STARTING
        )
        return taken == 1

    def rebalance(self) -> None:
        """Hand channels to the least used peer (load over capacity) while, after the move, this
        worker is still at least as used as that peer: the workers even out to within one channel
        whichever started first, and no channel moves back and forth."""
        if not self.slots:
            return
        peers = placement.live_peers(self.worker_id, self.clock(), self.peer_fresh, self.costs)
        if not peers:
            return
        load = self.load
        on_air = [slot for slot in self.slots.values() if slot.on_air]  # not one still starting
        for slot in sorted(on_air, key=lambda slot: slot.channel.sort_key, reverse=True):
            cost = self.cost_of(slot.channel)
            receiver = placement.receiver_for(peers, cost)
            if receiver is None:
                break
            if (load - cost) / self.capacity < (receiver.load + cost) / receiver.capacity - placement.EPSILON:
                break
            if self.hand_over(slot, receiver.worker_id):
                receiver.load += cost
                load -= cost

    def hand_over(self, slot: ChannelSlot, receiver: str) -> bool:
        """Stop the channel here, leave its counters in the shared row, and pass the lease to
        `receiver` in one conditional UPDATE (it starts the channel at its next look)."""
        slot.process.stop(kill=True)
        self.slots.pop(slot.channel.pk, None)
        changes = self._playlist_state(slot)
        slot.process.withdraw_playlist()
        as_run.hand_off(slot.channel.pk, self._published_until(slot))
        moved = ChannelRuntime.objects.filter(channel=slot.channel, lease_owner=self.worker_id).update(
            lease_owner=receiver,
            lease_expires_at=self.clock() + self.lease,
            state=RuntimeState.STARTING,
            pid=None,
            **changes,
        )
        if moved:
            logger.info("Channel %s: handed over to %s", slot.channel.number, receiver)
        return bool(moved)

    def adopt_handed_over(self) -> None:
        """Start the channels another worker passed this one (see `hand_over`)."""
        handed = ChannelRuntime.objects.filter(lease_owner=self.worker_id).exclude(
            channel_id__in=list(self.slots)
        )
        adopted = list(
            Channel.objects.filter(pk__in=handed.values("channel_id"), enabled=True).select_related(
                "stream_profile"
            )
        )
        if adopted:
            self.costs.update(placement.channel_costs(adopted, self.clock()))
        for channel in adopted:
            as_run.take_back(channel.pk)
            self.slots[channel.pk] = ChannelSlot(
                channel=channel, process=ChannelProcess(channel, self.server)
            )
            logger.info("Channel %s: taken over from another worker by %s", channel.number, self.worker_id)
            self.check_channel(self.slots[channel.pk])

    def renew_leases(self) -> None:
        if not self.slots:
            return
        now = self.clock()
        mine = ChannelRuntime.objects.filter(channel_id__in=list(self.slots), lease_owner=self.worker_id)
        mine.update(lease_expires_at=now + self.lease)
        held = set(
            ChannelRuntime.objects.filter(
                channel_id__in=list(self.slots), lease_owner=self.worker_id
            ).values_list("channel_id", flat=True)
        )
        for channel_id in [pk for pk in self.slots if pk not in held]:
            logger.warning(
                "Channel %s: lease lost to another worker; stopping here", self.slots[channel_id].channel
            )
            self.release(self.slots[channel_id], state=None)

    def release(self, slot: ChannelSlot, *, state: str | None) -> None:
        """Stop the channel here; give the lease back unless another worker already has it."""
        slot.process.stop()
        self.slots.pop(slot.channel.pk, None)
        if state is None or self.origin:
            # Another worker airs it now, or may (a station of several machines): should the
            # channel come back here, the front door routes viewers here as soon as the lease does,
            # and this playlist would send them back in time. (A single box keeps it, to continue
            # the window across a restart.)
            slot.process.withdraw_playlist()
        if state is not None:
            changes = self._playlist_state(slot)
            as_run.hand_off(slot.channel.pk, self._published_until(slot))
            ChannelRuntime.objects.filter(channel=slot.channel, lease_owner=self.worker_id).update(
                lease_owner="", lease_expires_at=None, state=state, pid=None, **changes
            )

    # --- One channel -------------------------------------------------------------------------------

    def check_channel(self, slot: ChannelSlot) -> None:
        process = slot.process
        now = time.monotonic()
        if process.process is None or (not process.running and slot.run_started is None):
            if now >= slot.start_at:
                self.start(slot)
            return
        added = process.poll(publish=False)  # published by _write_segment_state, after the row
        if added:
            self._record_segments(slot, first=not slot.on_air)
            slot.on_air = True
        if slot.failures and slot.run_started is not None and now - slot.run_started > HEALTHY_SECONDS:
            slot.failures = 0
            ChannelRuntime.objects.filter(channel=slot.channel).update(consecutive_failures=0)
            clear_notice(crash_loop_key(slot.channel))
        if not process.running:
            code = process.returncode
            if code == 0:
                self.restart(slot, "ffmpeg finished its concat list", failure=False)
            else:
                self.restart(slot, f"ffmpeg exited with status {code}: {process.stderr_tail()[-500:]}")
            return
        reason = process.stall_reason()
        if reason:
            self.restart(slot, reason)

    def start(self, slot: ChannelSlot) -> None:
        as_run.take_back(slot.channel.pk)  # this run's entries are logged (a restart handed the last off)
        runtime = ChannelRuntime.objects.get(channel=slot.channel)
        handover = Handover(
            tail_discontinuity=runtime.tail_discontinuity,
            resume_at=runtime.resume_at,
            last_segment_at=runtime.last_segment_at,
        )
        as_run.take_over(slot.channel.pk, runtime.resume_at)
        try:
            slot.process.start(
                media_sequence=runtime.media_sequence,
                discontinuity_sequence=runtime.discontinuity_sequence,
                handover=handover,
            )
        except Exception as error:
            logger.exception("Channel %s: could not start", slot.channel.number)
            slot.failures += 1
            slot.start_at = time.monotonic() + max(1.0, backoff_seconds(slot.failures))
            slot.run_started = None
            ChannelRuntime.objects.filter(channel=slot.channel).update(
                state=RuntimeState.BACKING_OFF,
                last_error=f"could not start: {error}"[:4000],
                consecutive_failures=slot.failures,
                pid=None,
            )
            self._tell_staff_of_a_crash_loop(slot, f"could not start: {error}")
            return
        slot.run_started = time.monotonic()
        slot.on_air = False
        ChannelRuntime.objects.filter(channel=slot.channel).update(
            state=RuntimeState.STARTING, pid=slot.process.pid, started_at=self.clock()
        )

    def restart(self, slot: ChannelSlot, reason: str, *, failure: bool = True) -> None:
        """Kill the run's whole process group and schedule the next start."""
        logger.warning("Channel %s: restarting (%s)", slot.channel.number, reason)
        slot.process.stop(kill=True)
        # The next run resumes where the last published segment ended; what the dead run's feed had
        # sent beyond that never reached a viewer, so the log is cut back to it.
        as_run.hand_off(slot.channel.pk, self._published_until(slot))
        if failure:
            slot.failures += 1
        delay = backoff_seconds(slot.failures) if failure else 0.0
        slot.start_at = time.monotonic() + delay
        slot.run_started = None
        slot.on_air = False
        changes = {
            "state": RuntimeState.BACKING_OFF if delay else RuntimeState.STARTING,
            "pid": None,
            "consecutive_failures": slot.failures,
            **self._playlist_state(slot),
        }
        if failure:
            changes["last_error"] = reason[:4000]
        ChannelRuntime.objects.filter(channel=slot.channel).update(restarts=F("restarts") + 1, **changes)
        if failure:
            self._tell_staff_of_a_crash_loop(slot, reason)
        if delay == 0:
            self.start(slot)

    def _tell_staff_of_a_crash_loop(self, slot: ChannelSlot, reason: str) -> None:
        if slot.failures < CRASH_LOOP_FAILURES:
            return
        channel = slot.channel
        raise_notice(
            crash_loop_key(channel),
            f"Channel {channel.number} ({channel.name}) is crash-looping",
            f"{slot.failures} failures in a row; retrying in {backoff_seconds(slot.failures):.0f} s. "
            f"Last error: {reason[:1500]}",
        )

    @staticmethod
    def _playlist_state(slot: ChannelSlot) -> dict:
        """The counters (and the schedule time reached) whoever airs the channel next continues;
        none from a channel that never started here (the row keeps the last worker's)."""
        if slot.process.process is None:
            return {}
        playlist = slot.process.playlist
        changes = {
            "media_sequence": playlist.next_msn,
            "discontinuity_sequence": playlist.discontinuity_sequence,
            "tail_discontinuity": playlist.tail_discontinuity,
        }
        if playlist.segments:
            changes["resume_at"] = playlist.segments[-1].ends_at
        return changes

    @staticmethod
    def _published_until(slot: ChannelSlot) -> datetime | None:
        """Where what this worker published of the channel ends on the schedule: the end of its
        newest segment, else the start of its run (it published nothing)."""
        playlist = slot.process.playlist
        if playlist.segments:
            return playlist.segments[-1].ends_at
        feed = slot.process.feed
        return feed.anchor if feed is not None else None

    def _record_segments(self, slot: ChannelSlot, *, first: bool) -> None:
        """Note that the channel published segments; `_write_segment_state` writes its counters at
        the end of the step (a takeover continues from them, so they are written every step)."""
        self._published[slot.channel.pk] = self._published.get(slot.channel.pk, False) or first

    def _write_segment_state(self) -> None:
        """Write the counters of every channel that took in segments this step, then publish their
        playlists: one statement (two when a run went on the air) instead of one per channel, and
        the row never behind a published playlist. The values are read now, not when the segments
        came in, so a restart or release earlier in the step (which wrote its own, newer, state) is
        never overwritten with older numbers; a channel no longer held is skipped, and the lease
        condition keeps a row another worker took untouched."""
        published, self._published = self._published, {}
        published = {pk: first for pk, first in published.items() if pk in self.slots}
        if not published:
            return
        try:
            self._write_counters(published)
        except Exception:  # the database is away: the channels stay on the air all the same
            logger.exception("Writing the counters of %s channels failed", len(published))
        for channel_id in published:
            self.slots[channel_id].process.publish_pending()

    def _write_counters(self, published: dict[int, bool]) -> None:
        missing = [pk for pk in published if pk not in self._runtime_ids]
        if missing:
            self._runtime_ids.update(
                ChannelRuntime.objects.filter(channel_id__in=missing).values_list("channel_id", "pk")
            )
        now = self.clock()
        rows: dict[int, dict[str, object]] = {}
        for channel_id, first in published.items():
            slot, runtime_id = self.slots[channel_id], self._runtime_ids.get(channel_id)
            if runtime_id is None or not slot.process.playlist.segments:
                continue  # (a restart this step may have dropped a stale window: it wrote its state)
            values = {**self._playlist_state(slot), "last_segment_at": now}
            if first and slot.on_air:  # not if the run was restarted since (it is starting)
                values["state"] = RuntimeState.ON_AIR
            rows[runtime_id] = values
        write_counters(self.worker_id, rows)  # only rows whose lease is still ours


def crash_loop_key(channel: Channel) -> str:
    return f"playout:channel:{channel.pk}:crash-loop"


def on_demand_idle() -> timedelta:
    """How long an on-demand channel stays on the air after its last viewer request."""
    return timedelta(seconds=getattr(settings, "RETROVUE_ON_DEMAND_IDLE_SECONDS", 300))


def heartbeat_path() -> Path:
    """Touched every few seconds by a running supervisor (container health checks read its age)."""
    return Path(settings.DATA_DIR) / "playout" / "heartbeat"


def touch_heartbeat() -> None:
    path = heartbeat_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def run_supervisor(argv: list[str] | None = None) -> int:
    """`python -m retrovue playout [--capacity CORES] [--origin URL] [--max-channels N] [--channels 2,5.1]`
    (Django set up already)."""
    parser = argparse.ArgumentParser(prog="python -m retrovue playout")
    parser.add_argument("--max-channels", type=int, default=None, help="channels this worker may hold")
    parser.add_argument("--channels", default="", help="only these channel numbers (comma-separated)")
    parser.add_argument("--worker-id", default=None)
    parser.add_argument(
        "--capacity", type=float, default=None, help="CPU cores for channels (default: 3/4 of this machine's)"
    )
    parser.add_argument("--origin", default="", help="base URL of this machine's HLS, for the front door")
    args = parser.parse_args(argv)
    numbers = [number.strip() for number in args.channels.split(",") if number.strip()] or None
    supervisor = Supervisor(
        worker_id=args.worker_id,
        max_channels=args.max_channels,
        channel_numbers=numbers,
        capacity=args.capacity,
        origin=args.origin,
    )
    return supervisor.run()
