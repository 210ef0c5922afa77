"""Interruptions of a channel's programme (emergency alerts), asked for by playout at each boundary.

Why a registry here: alerts sit beside playout, and neither should drive the other. Playout must not
import alerts (the station plays out with or without them), and alerts must never drive ffmpeg. So
playout asks this module "does anything interrupt channel C at time T?" at every segment boundary,
and the alerts app, when it loads, registers the one source that answers. Core imports no app.

A source answers with an `Interruption`: a key that names what should be on air (it changes when
another alert pre-empts, and is None when nothing interrupts), and, when ready, a file encoded to the
channel's stream profile that playout stream-copies in place of the programme, or a text file that
playout scrolls over the programme (a crawl, which re-encodes the channel live). It is also told when
an interruption went on and off the air on a channel, so the alert's history records it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Interruption:
    key: str  # stable while the same thing interrupts this channel ("alert:12")
    label: str  # for the as-run log and the monitor
    path: Path | None = None  # a ready MPEG-TS in the channel's profile, looped while it lasts
    duration_ms: int = 0
    # A crawl: this text (one line, in a file the source wrote) scrolls over the running programme;
    # `path`, if set, is what airs where the programme can't be re-encoded (a live event).
    crawl_text: Path | None = None
    crawl_since: datetime | None = None  # when the crawl began, so it scrolls on across pieces


class InterruptSource(Protocol):
    def interruption(self, channel_id: int, profile_id: int, moment: datetime) -> Interruption | None:
        """What interrupts the channel at `moment`, with its file if it is ready (may query)."""

    def current_key(self, channel_id: int, profile_id: int, moment: datetime) -> str | None:
        """Only the key; asked once per segment per channel, so it must be cheap (cached). It
        changes when the file becomes ready, so a channel waiting for it switches then."""

    def aired(self, channel_id: int, key: str, started: datetime, ended: datetime | None) -> None:
        """The interruption went on the air (ended None) or came off it on this channel."""

    def prepare(self, profile_id: int) -> None:
        """A channel of this profile is going on the air: make ready now, in the background, what
        would break into it, so that the first interruption does not wait for it. Optional."""

    def returned(self, channel_id: int, key: str, interrupted_at: datetime, returned_at: datetime) -> None:
        """The channel goes back to its programme at `returned_at` (schedule time) after an
        interruption that began at `interrupted_at` and ended with `key`. Called before playout asks
        the log what airs there, so a source may rewrite the log from that instant (optional)."""

    def state_token(self) -> object:
        """A value that changes whenever any answer of `current_key` may have changed (for any
        channel and moment), so playout can ask once per process instead of once per waiting
        channel (optional: without it every channel keeps asking `current_key`)."""


_sources: list[InterruptSource] = []


def register(source: InterruptSource) -> None:
    if source not in _sources:
        _sources.append(source)


def unregister(source: InterruptSource) -> None:
    if source in _sources:
        _sources.remove(source)


def interruption(channel_id: int, profile_id: int, moment: datetime) -> Interruption | None:
    for source in _sources:
        found = source.interruption(channel_id, profile_id, moment)
        if found is not None:
            return found
    return None


def current_key(channel_id: int, profile_id: int, moment: datetime) -> str | None:
    for source in _sources:
        key = source.current_key(channel_id, profile_id, moment)
        if key is not None:
            return key
    return None


def can_watch() -> bool:
    """Whether every source tells when its answers change (`state_token`)."""
    return all(getattr(source, "state_token", None) is not None for source in _sources)


def state_token() -> tuple | None:
    """The sources' state tokens together (see `InterruptSource.state_token`); None when a source
    has none, so nothing can be said and callers must keep asking `current_key`."""
    tokens = []
    for source in list(_sources):
        token_of = getattr(source, "state_token", None)
        if token_of is None:
            return None
        tokens.append(token_of())
    return tuple(tokens)


def aired(channel_id: int, key: str, started: datetime, ended: datetime | None = None) -> None:
    for source in _sources:
        source.aired(channel_id, key, started, ended)


def prepare(profile_id: int) -> None:
    for source in _sources:
        prepare_source = getattr(source, "prepare", None)
        if prepare_source is not None:
            prepare_source(profile_id)


def returned(channel_id: int, key: str, interrupted_at: datetime, returned_at: datetime) -> None:
    for source in _sources:
        hook = getattr(source, "returned", None)
        if hook is not None:
            hook(channel_id, key, interrupted_at, returned_at)
