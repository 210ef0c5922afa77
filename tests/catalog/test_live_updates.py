"""Live updates: Plex notification frames → item syncs, through the listener, against the emulator."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.live.events import CHANGED, CREATED, DELETED, LibraryEvent, parse_frame
from catalog.live.listener import ListenerService, ListenerSettings, SourceListener
from catalog.models import Episode, Movie, NotificationListenerState, SyncRun
from catalog.sync import triggers
from plex_emulator import EmulatorConfig, PlexEmulator
from plex_emulator.notifications import noise_frames
from retrovue.subprocesses import start_process, stop_processes
from tests.catalog.plex_helpers import SMALL_LIBRARY, snapshot, source_for, sync
from tests.factories import PlexSourceFactory
from tests.integration.celery_worker import database_url_for_subprocesses, wait_for

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FAST = ListenerSettings(
    debounce=0.3, max_wait=2.0, read_timeout=0.1, backoff_first=0.1, backoff_max=1.0, state_interval=0.3,
    rescan_interval=0.5,
)  # fmt: skip


# --- reading frames ----------------------------------------------------------------------------


def test_library_frames_become_created_changed_and_deleted_events():
    with PlexEmulator(
        EmulatorConfig(seed=2, shows=1, seasons_per_show=1, episodes_per_season=1, movies=2)
    ) as emu:
        emu.notifications.noise = False
        movie = emu.library.add_movie("Fresh", 1999)
        episode = emu.library.episodes()[0]
        emu.library.touch(episode.rating_key)
        emu.library.delete(movie.rating_key)
        frames = list(emu.notifications.history)
    events = [event for frame in frames for event in parse_frame(json.dumps(frame)).events]
    section = str(emu.config.movie_section_id)
    assert events == [
        LibraryEvent(CREATED, movie.rating_key, section, "movie", "Fresh"),
        LibraryEvent(CHANGED, movie.rating_key, section, "movie", "Fresh"),
        LibraryEvent(CHANGED, episode.rating_key, str(emu.config.show_section_id), "", ""),  # activity ended
        LibraryEvent(CHANGED, episode.rating_key, str(emu.config.show_section_id), "episode", episode.title),
        LibraryEvent(DELETED, movie.rating_key, section, "movie", "Fresh"),
    ]


def test_noise_and_malformed_frames_give_no_events():
    with PlexEmulator(EmulatorConfig(seed=2, shows=1, movies=2)) as emu:
        frames = noise_frames(emu.library.movies()[0], emu.library.now())
    assert len(frames) >= 12
    for frame in frames:
        assert parse_frame(json.dumps(frame)).events == [], frame
    for junk in ("", "not json", "[]", '{"NotificationContainer": 5}', '{"NotificationContainer": {"type": "timeline", "TimelineEntry": {"itemID": 1}}}'):  # fmt: skip
        assert parse_frame(junk).events == []


# --- the listener, end to end --------------------------------------------------------------------


@pytest.fixture
def inline_syncs(monkeypatch):
    """Queued syncs run at once in the listener's thread (the bench uses a real Celery worker)."""
    monkeypatch.setattr("catalog.tasks.run_sync.delay", lambda run_id: triggers.run_queued_sync(run_id))
    monkeypatch.setattr("catalog.tasks.probe_files.delay", lambda source_id: None)


def state_of(source) -> NotificationListenerState:
    return NotificationListenerState.objects.get(source=source)


@pytest.fixture
def live(inline_syncs):
    with PlexEmulator(SMALL_LIBRARY) as emulator:
        source = source_for(emulator)
        assert sync(source, "full").status == "succeeded"
        service = ListenerService(FAST)
        service.reconcile()
        try:
            wait_for(
                lambda: emulator.notifications.connection_count == 1, timeout=20, describe="the listener"
            )
            wait_for(
                lambda: SyncRun.objects.filter(
                    source=source, trigger="websocket reconnect", status="succeeded"
                ).exists(),
                timeout=30,
                describe="the catch-up sync after connecting",
            )
            yield emulator, source
        finally:
            service.stop_all()


def movie_state(source, rating_key):
    return Movie.objects.filter(source=source, rating_key=rating_key).values_list("state", flat=True).first()


@pytest.mark.django_db(transaction=True)
def test_added_changed_and_deleted_items_reach_the_catalog(live):
    emulator, source = live
    library = emulator.library
    movie = library.add_movie("Heard Live", 1982)
    wait_for(lambda: movie_state(source, movie.rating_key) == "active", timeout=30, describe="the new movie")

    episode = library.episodes()[5]
    library.touch(episode.rating_key, title="Retitled Live")
    wait_for(
        lambda: Episode.objects.filter(rating_key=episode.rating_key, title="Retitled Live").exists(),
        timeout=30,
        describe="the changed episode",
    )
    new_episode = library.add_episode(library.shows()[0].rating_key, 7, title="Brand New Season")
    wait_for(
        lambda: Episode.objects.filter(rating_key=new_episode.rating_key, season__season_number=7).exists(),
        timeout=30,
        describe="an episode of a new season",
    )
    library.delete(movie.rating_key)
    wait_for(lambda: movie_state(source, movie.rating_key) == "removed", timeout=30, describe="the deletion")

    # The listener writes its row after the sync it asked for returns.
    state = wait_for(
        lambda: (row := state_of(source)).last_event_summary.startswith("deleted movie") and row,
        timeout=10,
        describe="the listener's state row",
    )
    assert state.status == "connected" and state.connected_since is not None
    assert state.events_received >= 6 and state.frames_received > state.events_received  # noise too
    assert state.last_sync_run.trigger == "websocket"
    assert set(SyncRun.objects.filter(trigger="websocket").values_list("status", flat=True)) == {"succeeded"}


@pytest.mark.django_db(transaction=True)
def test_noise_alone_asks_for_no_sync(live):
    emulator, source = live
    before = state_of(source)
    sent = emulator.notifications.send_noise(26)
    wait_for(
        lambda: state_of(source).frames_received >= before.frames_received + sent,
        timeout=20,
        describe="the noise to arrive",
    )
    time.sleep(FAST.debounce * 3)  # a wrongly kept event would be flushed by now
    assert state_of(source).events_received == before.events_received
    assert not SyncRun.objects.filter(source=source, trigger="websocket").exists()


@pytest.mark.django_db(transaction=True)
def test_a_connection_killed_mid_stream_recovers_and_nothing_is_lost(live):
    emulator, source = live
    library = emulator.library
    emulator.notifications.kill(after_frames=3)
    lost_or_not = [library.add_movie(f"Mid-stream {number}", 1990 + number).rating_key for number in range(6)]
    wait_for(lambda: state_of(source).connects >= 2, timeout=30, describe="the listener to reconnect")
    after = library.add_movie("After The Drop", 2000).rating_key
    wait_for(
        lambda: all(movie_state(source, key) == "active" for key in [*lost_or_not, after]),
        timeout=30,
        describe="every movie, the ones announced while disconnected included",
    )
    state = state_of(source)
    assert state.status == "connected"
    assert state.last_error  # the drop was noted...
    assert "token" not in state.last_error.lower()


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_500_events_gives_a_few_syncs_and_the_right_catalog(live):
    emulator, source = live
    library = emulator.library
    runs_before = set(SyncRun.objects.values_list("pk", flat=True))
    events_before = state_of(source).events_received
    added = [library.add_movie(f"Burst {number}", 1950 + number % 50).rating_key for number in range(200)]
    for episode in library.episodes()[:60]:
        library.touch(episode.rating_key, summary="burst")
    for key in added[:40]:
        library.delete(key)
    expected_active = {movie.rating_key for movie in library.movies()}
    wait_for(
        lambda: set(
            Movie.objects.filter(source=source, state="active").values_list("rating_key", flat=True)
        ) == expected_active
        and Episode.objects.filter(source=source, summary="burst").count() == 60
        and not SyncRun.objects.filter(source=source, status__in=["queued", "running"]).exists(),
        timeout=60,
        describe="the catalog to catch up with the burst",
    )  # fmt: skip
    events = state_of(source).events_received - events_before
    assert events >= 500  # 200 × created + done, 60 × refresh ended + done, 40 × deleted
    burst_runs = SyncRun.objects.filter(source=source).exclude(pk__in=runs_before)
    assert 1 <= burst_runs.count() <= 5, list(burst_runs.values_list("trigger", "item_keys"))
    caught_up = snapshot(source)
    check = sync(source, "full")
    assert (check.added, check.updated, check.removed) == (0, 0, 0)
    assert snapshot(source) == caught_up


@pytest.mark.django_db(transaction=True)
def test_the_listener_backs_off_while_the_server_is_down(inline_syncs):
    with PlexEmulator(SMALL_LIBRARY) as emulator:
        source = source_for(emulator)
    # The emulator is gone: every connect fails, and the waits grow up to the cap.
    listener = SourceListener(source.pk, settings=FAST, jitter=lambda: 1.0, clock=lambda: 100.0)
    delays = []
    for _ in range(6):
        listener.next_attempt = 0
        listener.connect()
        delays.append(round(listener.next_attempt - 100.0, 3))
    assert delays == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    state = state_of(source)
    assert state.status == "disconnected" and state.connects == 0
    assert "ConnectionRefused" in state.last_error


@pytest.mark.django_db(transaction=True)
def test_the_listen_command_connects_and_stops_on_sigterm(tmp_path):
    with PlexEmulator(SMALL_LIBRARY) as emulator:
        source = source_for(emulator)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "retrovue.settings_test",
            "DATABASE_URL": database_url_for_subprocesses(),
        }
        log = (tmp_path / "listen.log").open("wb")
        process = start_process(
            [sys.executable, "-m", "retrovue", "listen"], env=env, cwd=str(PROJECT_ROOT), stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_for(
                lambda: NotificationListenerState.objects.filter(source=source, status="connected").exists(),
                timeout=60,
                describe="the listen process to connect",
            )
            assert emulator.notifications.connection_count == 1
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
        finally:
            stop_processes([process], grace_seconds=5)
            log.close()
    assert state_of(source).status == "stopped"


# --- the admin -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_source_page_and_list_show_the_listener_state(staff_client):
    source = PlexSourceFactory()
    other = PlexSourceFactory()
    now = timezone.now()
    NotificationListenerState.objects.create(
        source=source, status="connected", connected_since=now, connects=3, events_received=4242,
        frames_received=5000, last_event_at=now, last_event_summary="deleted movie 'Gone Film' 77",
        last_error="ConnectionResetError: [Errno 104] Connection reset by peer", last_error_at=now,
    )  # fmt: skip
    NotificationListenerState.objects.create(
        source=other, status="connected", seen_at=now - timedelta(hours=1), connected_since=now
    )
    page = staff_client.get(reverse("admin:catalog_mediasource_change", args=[source.pk])).content.decode()
    assert "Connected since" in page
    assert "4,242" in page and "deleted movie &#x27;Gone Film&#x27; 77" in page
    assert "Connection reset by peer" in page and "reconnects: 2" in page
    listing = staff_client.get(reverse("admin:catalog_mediasource_changelist")).content.decode()
    assert "Connected since" in listing and "Listener not running" in listing
    states = staff_client.get(reverse("admin:catalog_notificationlistenerstate_changelist"))
    assert states.status_code == 200


def test_the_launcher_starts_the_listener_beside_the_other_processes(tmp_path):
    from retrovue.launcher import embedded_services

    services = {spec.name: spec.argv for spec in embedded_services("127.0.0.1:8000", tmp_path)}
    assert services["listen"][1:] == ["-m", "retrovue", "listen"]
    assert {"web", "worker", "playout", "beat"} <= set(services)


@pytest.mark.django_db(transaction=True)
def test_a_refused_token_is_reported_without_the_token(inline_syncs, caplog):
    with PlexEmulator(SMALL_LIBRARY) as emulator:
        source = source_for(emulator)
        source.token = "wrong-secret-token-4711"
        source.save()
        listener = SourceListener(source.pk, settings=FAST)
        assert not listener.connect()
    state = state_of(source)
    assert state.status == "disconnected"
    assert "401" in state.last_error
    assert "wrong-secret-token-4711" not in state.last_error + caplog.text
