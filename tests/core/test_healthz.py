"""`/healthz`: the database, the broker, a live worker per queue and each channel, anonymously."""

from datetime import timedelta

import pytest
from django.utils import timezone

from playout.models import ChannelRuntime, RuntimeState
from playout.supervisor import heartbeat_path
from retrovue.core.health import report_cache
from retrovue.core.models import WorkerHeartbeat
from retrovue.core.worker_heartbeat import STALE_SECONDS, beat
from scheduling.models import Channel
from tests.integration.celery_worker import running_worker, wait_for
from tests.integration.private_redis import PrivateRedis


def healthz(client, query: str = ""):
    report_cache.clear()
    response = client.get(f"/healthz{query}")
    return response.status_code, response.json()


def checks_of(body) -> dict:
    return {check["name"]: check for check in body["checks"]}


@pytest.fixture
def private_redis(tmp_path, settings):
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    settings.CELERY_BROKER_URL = server.url
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    settings.CELERY_TASK_ALWAYS_EAGER = False
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def own_data_dir(settings, tmp_path):
    """The playout heartbeat file lives in DATA_DIR: keep other test runs' supervisors out of it."""
    settings.DATA_DIR = tmp_path / "data"


@pytest.fixture
def all_queues_served(db, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    beat("worker@test", ["sync", "pregen", "playout", "default"])


@pytest.mark.django_db(transaction=True)
def test_healthz_goes_503_when_the_broker_stops_and_200_when_it_is_back(client, private_redis, tmp_path):
    log = tmp_path / "worker.log"
    with running_worker(
        "sync,pregen,playout,default", log, broker_url=private_redis.url, hostname="health@test"
    ):
        wait_for(
            lambda: healthz(client)[0] == 200, timeout=60, describe="a healthy report with the worker up"
        )
        status, body = healthz(client)
        checks = checks_of(body)
        assert checks["broker"] == {**checks["broker"], "ok": True, "detail": "redis reachable"}
        assert checks["queue:sync"]["ok"] and checks["queue:sync"]["detail"] == "1 live worker"

        private_redis.stop()
        status, body = healthz(client)
        assert status == 503
        assert body["ok"] is False
        failing = [check["name"] for check in body["checks"] if not check["ok"]]
        assert failing == ["broker"], body
        assert checks_of(body)["broker"]["detail"].startswith("redis unreachable (")
        assert str(private_redis.port) not in str(body)  # no URL, host or port in an anonymous answer

        private_redis.start()
        status, body = healthz(client)
        assert status == 200, body

    # A cleanly stopped worker removes its heartbeat, so its queues fail at once.
    status, body = healthz(client)
    assert status == 503
    assert not checks_of(body)["queue:sync"]["ok"], log.read_text()[-2000:]
    assert checks_of(body)["queue:sync"]["detail"] == "no live worker consumes it"
    assert not WorkerHeartbeat.objects.filter(hostname="health@test").exists()


def test_a_worker_that_stops_beating_no_longer_serves_its_queue(client, all_queues_served):
    WorkerHeartbeat.objects.update(last_seen_at=timezone.now() - timedelta(seconds=STALE_SECONDS + 1))
    status, body = healthz(client, "?check=queues")
    assert status == 503
    assert {check["name"]: check["ok"] for check in body["checks"]} == {
        "queue:sync": False,
        "queue:pregen": False,
        "queue:playout": False,
        "queue:default": False,
    }


def test_playout_queue_is_served_by_a_fresh_supervisor_heartbeat(client, db, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    beat("worker@test", ["sync", "pregen", "default"])
    path = heartbeat_path()
    assert not path.exists()
    assert healthz(client, "?check=queues")[0] == 503
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    status, body = healthz(client, "?check=queues")
    assert status == 200
    assert checks_of(body)["queue:playout"]["detail"] == "the playout supervisor is alive"


def test_each_channel_is_reported_by_its_playout_state(client, all_queues_served):
    now = timezone.now()
    on_air = Channel.objects.create(number="2", name="Two", time_zone="UTC")
    stalled = Channel.objects.create(number="3", name="Three", time_zone="UTC")
    Channel.objects.create(number="4", name="Four (on demand)", time_zone="UTC", always_on=False)
    Channel.objects.create(number="5", name="Five (disabled)", time_zone="UTC", enabled=False)
    ChannelRuntime.objects.create(channel=on_air, state=RuntimeState.ON_AIR, last_segment_at=now)
    ChannelRuntime.objects.create(
        channel=stalled,
        state=RuntimeState.ON_AIR,
        last_segment_at=now - timedelta(minutes=5),
        last_error="ffmpeg: /srv/secret/path.mkv: No such file",
    )
    status, body = healthz(client, "?check=channels")
    assert status == 503
    checks = checks_of(body)
    assert set(checks) == {"channel:2", "channel:3", "channel:4"}
    assert checks["channel:2"]["ok"] and checks["channel:2"]["detail"].startswith("on air, last segment")
    assert not checks["channel:3"]["ok"] and "stalled" in checks["channel:3"]["detail"]
    assert checks["channel:4"] == {
        **checks["channel:4"],
        "ok": True,
        "detail": "off the air (on demand, no recent viewer)",
    }
    assert "/srv/secret" not in str(body)

    ChannelRuntime.objects.filter(channel=stalled).update(last_segment_at=timezone.now())
    assert healthz(client, "?check=channels")[0] == 200


def test_a_starting_channel_passes_only_while_a_supervisor_holds_it_and_briefly(client, all_queues_served):
    now = timezone.now()
    channel = Channel.objects.create(number="2", name="Two", time_zone="UTC")
    runtime = ChannelRuntime.objects.create(
        channel=channel,
        state=RuntimeState.STARTING,
        lease_owner="box:1:abc",
        lease_expires_at=now + timedelta(seconds=30),
        started_at=now - timedelta(seconds=5),
    )
    assert checks_of(healthz(client, "?check=channels")[1])["channel:2"]["detail"] == "starting"
    runtime.started_at = now - timedelta(minutes=5)
    runtime.save()
    assert checks_of(healthz(client, "?check=channels")[1])["channel:2"]["detail"] == "starting for too long"
    runtime.started_at, runtime.lease_expires_at = now, now - timedelta(seconds=1)
    runtime.save()
    status, body = healthz(client, "?check=channels")
    assert status == 503
    assert checks_of(body)["channel:2"]["detail"] == "starting, but no supervisor holds it"


def test_healthz_reports_every_check_with_its_latency(client, all_queues_served, settings):
    settings.CELERY_BROKER_URL = "redis://user:hunter2@127.0.0.1:1/0"  # nothing listens on port 1
    status, body = healthz(client)
    assert status == 503
    names = [check["name"] for check in body["checks"]]
    assert names[:2] == ["database", "broker"]
    assert {"queue:sync", "queue:pregen", "queue:playout", "queue:default"} <= set(names)
    assert all(isinstance(check["latency_ms"], float) for check in body["checks"])
    assert "hunter2" not in str(body) and "user" not in str(body)


def test_web_container_check_asks_for_the_database_only(client, db, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    status, body = healthz(client, "?check=database")
    assert status == 200
    assert [check["name"] for check in body["checks"]] == ["database"]
    assert healthz(client, "?check=nonsense")[0] == 400


def test_report_is_cached_for_a_few_seconds(db):
    from retrovue.core.health import ReportCache

    ticks = iter([0.0, 1.0, 10.0, 10.0])
    cache = ReportCache(max_age=3, clock=lambda: next(ticks))
    first = cache.get(["database"])
    assert cache.get(["database"]) is first
    assert cache.get(["database"]) is not first


def test_embedded_filesystem_broker_is_checked_through_its_folder(tmp_path, db):
    from retrovue.core.health import check_broker

    folder = tmp_path / "broker"
    folder.mkdir()
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder), "control_folder": str(folder)}
    [check] = check_broker("filesystem://", options)
    assert (check.ok, check.detail) == (True, "filesystem reachable")
