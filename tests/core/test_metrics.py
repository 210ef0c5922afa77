"""`/metrics`: Prometheus text format computed from the database, for staff tokens only."""

from datetime import timedelta

from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from catalog.models import SyncItemError, SyncRun
from playout import viewer_counts
from playout.models import ChannelRuntime, RuntimeState
from retrovue.core.models import ApiToken
from retrovue.core.worker_heartbeat import beat
from scheduling.models import Channel
from tests.factories import PlexSourceFactory, StaffUserFactory


def run(source, kind="incremental", status="succeeded", seconds=10, **counts):
    finished = timezone.now() - timedelta(hours=1)
    return SyncRun.objects.create(
        source=source,
        kind=kind,
        status=status,
        started_at=finished - timedelta(seconds=seconds),
        finished_at=finished,
        **counts,
    )


def scrape(client, token) -> dict:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_parse_and_carry_the_seeded_numbers(client, db):
    _, token = ApiToken.issue(StaffUserFactory(), "prometheus")
    attic = PlexSourceFactory(name="Attic Plex")
    den = PlexSourceFactory(name="Den Plex")
    run(attic, seconds=2, processed=10, added=3, updated=2, api_calls=7)
    run(attic, seconds=40, processed=5, removed=1, failed=2, status="partial", api_calls=5)
    run(attic, kind="full", status="failed", seconds=600)
    run(den, seconds=4000, added=100, processed=100, api_calls=30)
    SyncRun.objects.create(source=den, status="running", started_at=timezone.now())
    SyncItemError.objects.create(source=attic, item_kind="movie", item_key="1", error_kind="malformed")
    SyncItemError.objects.create(source=attic, item_kind="movie", item_key="2", error_kind="orphan")
    SyncItemError.objects.create(
        source=attic, item_kind="movie", item_key="3", error_kind="orphan", resolved_at=timezone.now()
    )
    two = Channel.objects.create(number="2", name="Two", time_zone="UTC")
    three = Channel.objects.create(number="3", name="Three", time_zone="UTC")
    Channel.objects.create(number="4", name="Four", time_zone="UTC")
    ChannelRuntime.objects.create(channel=two, state=RuntimeState.ON_AIR, restarts=1)
    viewer_counts.publish("box-a:ts-fanout", "ts", {"2": 2})  # two machines' viewers add up
    viewer_counts.publish("box-b:ts-fanout", "hls", {"2": 1})
    ChannelRuntime.objects.create(channel=three, state=RuntimeState.FAILED, restarts=9)
    beat("worker@metrics", ["sync", "default"])

    samples = scrape(client, token)

    def value(name, **labels):
        return samples[(name, tuple(sorted(labels.items())))]

    assert value("retrovue_sync_runs_total", source="Attic Plex", kind="incremental", status="succeeded") == 1
    assert value("retrovue_sync_runs_total", source="Attic Plex", kind="incremental", status="partial") == 1
    assert value("retrovue_sync_runs_total", source="Attic Plex", kind="full", status="failed") == 1
    assert value("retrovue_sync_items_total", source="Attic Plex", change="added") == 3
    assert value("retrovue_sync_items_total", source="Attic Plex", change="failed") == 2
    assert value("retrovue_sync_items_total", source="Den Plex", change="processed") == 100
    assert value("retrovue_plex_api_calls_total", source="Attic Plex") == 12
    assert (
        value("retrovue_sync_duration_seconds_bucket", source="Attic Plex", kind="incremental", le="5.0") == 1
    )
    assert (
        value("retrovue_sync_duration_seconds_bucket", source="Attic Plex", kind="incremental", le="60.0")
        == 2
    )
    assert value("retrovue_sync_duration_seconds_count", source="Attic Plex", kind="incremental") == 2
    assert value("retrovue_sync_duration_seconds_sum", source="Attic Plex", kind="incremental") == 42
    assert (
        value("retrovue_sync_duration_seconds_bucket", source="Den Plex", kind="incremental", le="3600.0")
        == 0
    )
    assert (
        value("retrovue_sync_duration_seconds_bucket", source="Den Plex", kind="incremental", le="+Inf") == 1
    )
    assert value("retrovue_sync_item_errors_open", source="Attic Plex", error_kind="orphan") == 1
    assert value("retrovue_sync_item_errors_open", source="Attic Plex", error_kind="malformed") == 1
    assert value("retrovue_sync_running", status="running") == 1
    assert value("retrovue_channels_on_air") == 1
    assert value("retrovue_channels", state="failed") == 1
    assert value("retrovue_channels", state="stopped") == 1
    assert value("retrovue_channel_viewers", channel="2") == 3
    assert value("retrovue_channel_restarts_total", channel="3") == 9
    assert value("retrovue_pregen_coverage_seconds", channel="4") == 0
    assert value("retrovue_queue_live_workers", queue="sync") == 1
    assert value("retrovue_queue_live_workers", queue="pregen") == 0
    assert "plex-token" not in str(samples)


def test_metrics_need_a_staff_token_or_session(client, db):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer rv_not-a-token").status_code == 401
    user = StaffUserFactory()
    row, token = ApiToken.issue(user, "prometheus")
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    row.revoked = True
    row.save()
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
    client.force_login(user)
    assert client.get("/metrics").status_code == 200


def test_metrics_query_count_does_not_grow_with_sources_or_channels(
    client, db, django_assert_max_num_queries
):
    _, token = ApiToken.issue(StaffUserFactory(), "prometheus")
    for number in range(25):
        source = PlexSourceFactory()
        run(source)
        Channel.objects.create(number=str(number + 10), name=f"Channel {number}", time_zone="UTC")
    with django_assert_max_num_queries(20):
        scrape(client, token)


def test_an_app_registered_family_is_scraped_with_the_station_families(client, db):
    from prometheus_client.core import GaugeMetricFamily

    from retrovue.core import metrics

    def families(now):
        yield GaugeMetricFamily("retrovue_test_registered", "A family an app registered.", value=7)

    _, token = ApiToken.issue(StaffUserFactory(), "prometheus")
    metrics.register_families("test-app", families)
    try:
        samples = scrape(client, token)
    finally:
        metrics._app_families.pop("test-app")
    assert samples[("retrovue_test_registered", ())] == 7
    assert ("retrovue_channels_on_air", ()) in samples  # playout's, registered from its AppConfig


def test_core_metrics_import_no_app():
    import ast
    from pathlib import Path

    import retrovue.core.metrics as module

    tree = ast.parse(Path(module.__file__).read_text())
    imported = {
        (node.module or "").split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    } | {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert not imported & {"catalog", "playout", "scheduling", "alerts"}
