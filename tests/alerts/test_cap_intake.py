"""CAP by authenticated POST and by polling a feed over real HTTP (a local server with the documents)."""

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django_celery_beat.models import PeriodicTask

from alerts.feeds import poll_feed
from alerts.models import Alert, CapDocument, CapFeed
from retrovue.core.models import ApiToken

pytestmark = pytest.mark.django_db
DOCUMENTS = Path(__file__).parent / "cap"


@pytest.fixture(autouse=True)
def test_server_listed(settings):
    """The operator lists a LAN relay's address for CAP feeds; here, the test's own server."""
    settings.RETROVUE_CAP_FEED_HOSTS = ["127.0.0.1"]


def _client(*permissions: str) -> Client:
    user = get_user_model().objects.create_user("cap-bridge", is_staff=True)
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    _, token = ApiToken.issue(user, "cap bridge")
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def _post(client, body: bytes):
    return client.post("/api/alerts/cap", body, content_type="application/cap+xml")


def test_a_cap_document_posted_with_a_staff_token_is_issued():
    client = _client("alerts.add_alert")

    response = _post(client, (DOCUMENTS / "canada_bilingual_prefixed.xml").read_bytes())

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["outcome"] == "aired" and Alert.objects.get(pk=body["alert_id"]).origin == "cap"
    assert (
        _post(client, (DOCUMENTS / "canada_bilingual_prefixed.xml").read_bytes()).json()["outcome"]
        == "duplicate"
    )


def test_a_malformed_post_is_refused_with_the_reason_and_recorded():
    client = _client("alerts.add_alert")

    response = _post(client, b"<alert><identifier>half")

    assert response.status_code == 400
    assert "Not well-formed XML" in response.json()["reason"]
    assert CapDocument.objects.get().outcome == "rejected"


def test_posting_cap_needs_the_add_permission():
    assert _post(_client("alerts.view_alert"), b"<alert/>").status_code == 403
    assert (
        Client().post("/api/alerts/cap", b"<alert/>", content_type="application/cap+xml").status_code == 401
    )
    assert not CapDocument.objects.exists()


@pytest.fixture
def feed_server(tmp_path):
    """A real HTTP server with an Atom index that links to a CAP document on the same server."""
    (tmp_path / "cap.xml").write_bytes((DOCUMENTS / "canada_bilingual_prefixed.xml").read_bytes())
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(SimpleHTTPRequestHandler, directory=tmp_path)
    )
    base = f"http://127.0.0.1:{server.server_address[1]}"
    (tmp_path / "index.atom").write_text(
        '<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>x</id>'
        f'<link type="application/cap+xml" href="{base}/cap.xml"/></entry></feed>'
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()
    server.server_close()


def test_polling_an_index_feed_imports_the_documents_it_links_once(feed_server, settings):
    settings.RETROVUE_CAP_FEED_HOSTS = [
        "127.0.0.1"
    ]  # the operator lists a LAN relay; here, the test's server
    feed = CapFeed.objects.create(name="Local index", url=f"{feed_server}/index.atom", area_codes="036061")

    first = poll_feed(feed)
    second = poll_feed(feed)

    assert first == {"status": "done", "outcomes": {"aired": 1}}
    assert second == {"status": "done", "outcomes": {"duplicate": 1}}
    alert = Alert.objects.get()
    assert alert.area_codes == "036061"  # the feed's areas: CAP-CP location codes are not SAME/UGC
    feed.refresh_from_db()
    assert feed.last_polled_at is not None and feed.last_error == ""


def test_an_unreachable_feed_records_the_error_and_changes_nothing(feed_server):
    feed = CapFeed.objects.create(name="Gone", url=f"{feed_server}/missing.atom")

    result = poll_feed(feed)

    assert result["status"] == "failed" and "HTTP 404" in result["error"]
    feed.refresh_from_db()
    assert "HTTP 404" in feed.last_error and not Alert.objects.exists()


def test_a_feed_gets_its_beat_entry_with_its_interval():
    feed = CapFeed.objects.create(
        name="NWS", url="https://api.weather.gov/alerts/active?zone=NYZ072", poll_seconds=90
    )

    task = PeriodicTask.objects.get(name=f"Poll CAP feed #{feed.pk}")

    assert task.task == "alerts.poll_feed" and task.interval.every == 90 and task.queue == "default"
    feed.delete()
    assert not PeriodicTask.objects.filter(name=f"Poll CAP feed #{feed.pk}").exists()


def test_a_feed_on_the_station_itself_is_refused_unless_the_operator_lists_it(feed_server, settings):
    settings.RETROVUE_CAP_FEED_HOSTS = None  # the default: public hosts only
    feed = CapFeed.objects.create(name="Loopback", url=f"{feed_server}/index.atom", area_codes="036061")

    outcome = poll_feed(feed)

    assert outcome["status"] != "done"
    feed.refresh_from_db()
    assert "loopback" in feed.last_error and "RETROVUE_CAP_FEED_HOSTS" in feed.last_error
    assert not Alert.objects.exists()


def test_staff_cannot_point_a_cap_feed_at_the_station_itself(admin_client, settings):
    settings.RETROVUE_CAP_FEED_HOSTS = None
    response = admin_client.post(
        "/admin/alerts/capfeed/add/",
        {
            "name": "Sneaky",
            "url": "http://127.0.0.1:8000/admin/",
            "area_codes": "",
            "poll_seconds": 60,
            "enabled": "on",
        },
    )
    assert response.status_code == 200 and "RETROVUE_CAP_FEED_HOSTS" in response.content.decode()
    assert not CapFeed.objects.exists()
