"""Feeds waiting to send a GOP are woken by one watch per process when an interruption may have
changed, instead of each asking ten times a second (see `playout.interruptions.InterruptWatch`)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from playout import feed as feed_module
from playout import interruptions
from playout.feed import ChannelFeed
from retrovue.core import interrupts


class CountingSource:
    """An interrupt source whose answer the test sets; it counts how often it is asked."""

    def __init__(self) -> None:
        self.key: str | None = None
        self.version = 0
        self.asked = 0

    def interruption(self, channel_id, profile_id, moment):
        return None

    def current_key(self, channel_id, profile_id, moment):
        self.asked += 1
        return self.key

    def aired(self, channel_id, key, started, ended):
        pass

    def state_token(self):
        return self.version


class SilentSource(CountingSource):
    state_token = None  # can't say when it changes


def waiting_feed(source) -> tuple[ChannelFeed, threading.Thread, list[bool]]:
    """A feed waiting (in a thread) for a GOP due in a minute, cut when the source names a key."""
    feed = ChannelFeed(SimpleNamespace(pk=1, number="1"), planner=None, segment=timedelta(seconds=2))
    result: list[bool] = []
    due = timezone.now() + timedelta(minutes=1)

    def wait() -> None:
        cut = lambda: interrupts.current_key(1, 1, due) is not None  # noqa: E731
        result.append(feed._wait_until(due, interruptible=True, cut=cut))

    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    return feed, thread, result


@pytest.fixture
def only(monkeypatch):
    def register(source) -> None:
        monkeypatch.setattr(interrupts, "_sources", [source])

    # The feed's own backstop re-check is pushed out of the way: only the watch can wake it here.
    monkeypatch.setattr(feed_module, "WATCHED_RECHECK_SECONDS", 60.0)
    return register


def test_a_waiting_feed_is_woken_by_the_watch_not_by_polling(only):
    source = CountingSource()
    only(source)
    feed, thread, result = waiting_feed(source)
    try:
        time.sleep(1.0)
        # Asked when the wait began, and maybe once more for the watch's first look: not 10 times.
        assert source.asked <= 3
        source.key, source.version = "alert:1", source.version + 1
        thread.join(timeout=2)
        assert result == [True]  # cut within the watch's poll, not at the GOP's time a minute away
    finally:
        feed.close()
        thread.join(timeout=2)


def test_a_source_that_cant_tell_when_it_changes_is_asked_every_poll(only):
    source = SilentSource()
    only(source)
    assert not interruptions.can_watch()
    feed, thread, result = waiting_feed(source)
    try:
        time.sleep(0.5)
        assert source.asked >= 3  # every INTERRUPT_POLL_SECONDS (0.1 s)
        source.key = "alert:1"
        thread.join(timeout=2)
        assert result == [True]
    finally:
        feed.close()
        thread.join(timeout=2)
