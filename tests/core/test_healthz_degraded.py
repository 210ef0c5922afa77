"""`/healthz` tells "on the air but not right" (degraded, still 200) from "down" (failing, 503):
a channel airing the slate, a dead beat scheduler, a silent Plex listener. Which machine a check
concerns is shown only to a user allowed to read the metrics."""

import os
import subprocess
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from catalog.choices import SourceKind
from catalog.models import MediaSource, NotificationListenerState
from catalog.models.live import STALE_AFTER, ListenerStatus
from playout.models import AsRunEntry, ChannelRuntime, RuntimeState
from retrovue.core.health import report_cache
from retrovue.core.models import WorkerHeartbeat
from retrovue.core.worker_heartbeat import BEAT_ROLE, beat
from retrovue.subprocesses import start_process, stop_processes
from scheduling.models import Channel
from tests.integration.celery_worker import PROJECT_ROOT, REDIS_URL, database_url_for_subprocesses, wait_for


def healthz(client, query: str = ""):
    report_cache.clear()
    response = client.get(f"/healthz{query}")
    return response.status_code, response.json()


def checks_of(body) -> dict:
    return {check["name"]: check for check in body["checks"]}


@pytest.fixture(autouse=True)
def own_data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    settings.CELERY_TASK_ALWAYS_EAGER = False


def _airing(channel, origin, *, seconds_ago=5, error=""):
    now = timezone.now()
    return AsRunEntry.objects.create(
        channel=channel, scheduled_start=now - timedelta(seconds=seconds_ago), scheduled_stop=now + timedelta(minutes=1),
        actual_start=now - timedelta(seconds=seconds_ago), origin=origin, error=error,
    )  # fmt: skip


def test_a_channel_airing_the_slate_is_degraded_not_on_air(client, db):
    channel = Channel.objects.create(number="2", name="Two", time_zone="UTC")
    ChannelRuntime.objects.create(
        channel=channel, state=RuntimeState.ON_AIR, last_segment_at=timezone.now(), lease_owner="box-a:1:x"
    )
    _airing(channel, AsRunEntry.Origin.PREGEN, seconds_ago=60)
    slate = _airing(
        channel, AsRunEntry.Origin.SLATE, error="unplayable (/srv/private/film.mkv: No such file)"
    )

    status, body = healthz(client, "?check=channels")

    assert status == 200
    assert body["status"] == "degraded" and body["ok"] is True
    check = checks_of(body)["channel:2"]
    assert check["status"] == "degraded"
    assert check["detail"].startswith("on air, airing the slate")
    assert "/srv/private" not in str(body)

    # The next piece airs the program again: back to ok.
    slate.actual_stop = timezone.now()
    slate.save()
    _airing(channel, AsRunEntry.Origin.PREGEN, seconds_ago=0)
    status, body = healthz(client, "?check=channels")
    assert (status, body["status"], checks_of(body)["channel:2"]["status"]) == (200, "ok", "ok")


def test_a_slate_scheduled_ahead_of_now_does_not_count_yet(client, db):
    channel = Channel.objects.create(number="2", name="Two", time_zone="UTC")
    ChannelRuntime.objects.create(channel=channel, state=RuntimeState.ON_AIR, last_segment_at=timezone.now())
    _airing(channel, AsRunEntry.Origin.PREGEN, seconds_ago=30)
    _airing(channel, AsRunEntry.Origin.SLATE, seconds_ago=-4)  # the feed writes a few seconds ahead

    assert checks_of(healthz(client, "?check=channels")[1])["channel:2"]["status"] == "ok"


def test_a_stalled_channel_still_fails_whatever_it_airs(client, db):
    channel = Channel.objects.create(number="2", name="Two", time_zone="UTC")
    ChannelRuntime.objects.create(
        channel=channel, state=RuntimeState.ON_AIR, last_segment_at=timezone.now() - timedelta(minutes=5)
    )
    _airing(channel, AsRunEntry.Origin.SLATE)

    status, body = healthz(client, "?check=channels")

    assert (status, body["status"], checks_of(body)["channel:2"]["status"]) == (503, "failing", "failing")


def test_a_missing_beat_is_degraded_and_a_beating_one_is_ok(client, db):
    status, body = healthz(client, "?check=beat")
    assert (status, body["status"]) == (200, "degraded")
    assert "channels run dry" in checks_of(body)["beat"]["detail"]

    beat("beat@box-a", [BEAT_ROLE])
    status, body = healthz(client, "?check=beat")
    assert (status, body["status"], checks_of(body)["beat"]["detail"]) == (
        200,
        "ok",
        "the scheduler is alive",
    )


@pytest.mark.e2e
def test_a_real_celery_beat_process_reports_itself_alive(transactional_db, tmp_path):
    """The beat_init signal starts the heartbeat in the real `celery beat` the launcher runs."""
    from retrovue.launcher import beat_argv

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "retrovue.settings_test",
        "DATABASE_URL": database_url_for_subprocesses(),
        "CELERY_BROKER_URL": REDIS_URL,
        "RETROVUE_BROKER_KEY_PREFIX": f"rvtest-beat-{uuid.uuid4().hex[:8]}:",  # what it sends goes nowhere shared
    }
    argv = beat_argv(tmp_path)
    log = (tmp_path / "beat.log").open("wb")
    process = start_process(argv, env=env, cwd=str(PROJECT_ROOT), stdout=log, stderr=subprocess.STDOUT)
    try:
        beating = wait_for(
            lambda: [
                row
                for row in WorkerHeartbeat.objects.values_list("hostname", "queues")
                if BEAT_ROLE in row[1]
            ],
            timeout=60,
            describe="the beat heartbeat",
        )
        assert beating[0][0].startswith("beat@"), (tmp_path / "beat.log").read_text()[-3000:]
    finally:
        stop_processes([process])
        log.close()


def test_the_plex_listener_is_reported_per_source_and_only_degrades(client, db, tmp_path):
    watched = MediaSource.objects.create(
        name="Den", kind=SourceKind.PLEX, base_url="http://plex.example:32400"
    )
    silent = MediaSource.objects.create(
        name="Attic", kind=SourceKind.PLEX, base_url="http://attic.example:32400"
    )
    MediaSource.objects.create(name="Folders", kind=SourceKind.FOLDER, path=str(tmp_path))
    NotificationListenerState.objects.create(source=watched, status=ListenerStatus.CONNECTED)
    NotificationListenerState.objects.create(
        source=silent,
        status=ListenerStatus.CONNECTED,
        seen_at=timezone.now() - STALE_AFTER - timedelta(seconds=1),
    )

    status, body = healthz(client, "?check=listener")

    assert (status, body["status"]) == (200, "degraded")
    checks = checks_of(body)
    assert set(checks) == {f"listener:source-{watched.pk}", f"listener:source-{silent.pk}"}
    assert checks[f"listener:source-{watched.pk}"]["status"] == "ok"
    assert checks[f"listener:source-{silent.pk}"]["detail"] == "live-update listener not running"
    assert "plex.example" not in str(body) and "Attic" not in str(body)


def test_machines_are_shown_only_to_a_user_allowed_to_read_the_metrics(client, db):
    channel = Channel.objects.create(number="2", name="Two", time_zone="UTC")
    ChannelRuntime.objects.create(
        channel=channel,
        state=RuntimeState.ON_AIR,
        last_segment_at=timezone.now(),
        lease_owner="box-a:4242:1f",
    )
    assert "box-a" not in str(healthz(client, "?check=channels")[1])

    staff = get_user_model().objects.create_user("ops", password="x", is_staff=True)
    monitoring = Client()
    monitoring.force_login(staff)
    assert "box-a" not in str(healthz(monitoring, "?check=channels")[1])

    staff.user_permissions.add(Permission.objects.get(codename="view_metrics"))
    monitoring.force_login(get_user_model().objects.get(pk=staff.pk))
    assert checks_of(healthz(monitoring, "?check=channels")[1])["channel:2"]["machine"] == "box-a:4242:1f"
