"""deploy/nginx.conf serves the artwork cache from disk: JPEG, cached for a year, nothing else reachable."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image

from catalog.models.artwork import artwork_path
from tests.deploy import nginx_runner
from tests.deploy.test_compose_stack import COMPOSE, NGINX_CONF, SERVICES, SHARED_ENV, _volume_mounts
from tests.deploy.test_nginx_front import FakeDjango, fetch


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (30, 45), "navy").save(out, "JPEG")
    return out.getvalue()


JPEG = _jpeg()
DIGEST = hashlib.sha256(b"the original image").hexdigest()
NAME = artwork_path(DIGEST, 300)


@pytest.fixture(scope="module")
def artwork_front(tmp_path_factory):
    binary = nginx_runner.nginx_binary()
    if binary is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx); deploy/nginx.conf is untested")
    upstream = FakeDjango()
    upstream.start()
    prefix = tmp_path_factory.mktemp("nginx-artwork")
    (prefix / "hls").mkdir()
    artwork = prefix / "cache"
    (artwork / NAME).parent.mkdir(parents=True)
    (artwork / NAME).write_bytes(JPEG)
    (artwork / "secret.txt").write_text("not artwork")
    (prefix / "outside.jpg").write_bytes(JPEG)
    port = nginx_runner.free_port()
    conf = nginx_runner.render(
        prefix, port=port, upstream_port=upstream.port, hls_root=prefix / "hls", artwork_root=artwork
    )
    running = nginx_runner.start(binary, prefix, conf, port)
    yield running, upstream
    running.stop()
    upstream.stop()


@pytest.mark.e2e
def test_artwork_is_served_from_disk_as_a_jpeg_cached_for_a_year(artwork_front):
    front, upstream = artwork_front
    status, headers, body = fetch(front.port, f"/artwork/{NAME}")
    assert status == 200, front.logs()
    assert body == JPEG
    assert headers["content-type"] == "image/jpeg"
    assert headers["cache-control"] == "public, max-age=31536000, immutable"
    assert headers["x-content-type-options"] == "nosniff"
    assert upstream.requests_to("/artwork/") == [], "nginx serves artwork without Django"


@pytest.mark.e2e
@pytest.mark.parametrize(
    "path",
    [
        "/artwork/secret.txt",
        "/artwork/",
        f"/artwork/{DIGEST[:2]}/",
        f"/artwork/{DIGEST[:2]}/{DIGEST}-w300.jpg.tmp",
        f"/artwork/{DIGEST[:2]}/{DIGEST[:10]}-w300.jpg",
    ],
)
def test_only_content_hash_names_are_reachable(artwork_front, path):
    front, _ = artwork_front
    status, _, body = fetch(front.port, path)
    assert status in (400, 404), (path, status)
    assert b"not artwork" not in body and body != JPEG


@pytest.mark.e2e
@pytest.mark.parametrize(
    "path",
    ["/artwork/../outside.jpg", "/artwork/%2e%2e/outside.jpg", f"/artwork/{DIGEST[:2]}/../../outside.jpg"],
)
def test_dot_dot_never_reads_outside_the_artwork_folder(artwork_front, path):
    # nginx resolves the dots first: the request is for /outside.jpg, which is not artwork at all.
    front, _ = artwork_front
    _, _, body = fetch(front.port, path)
    assert body != JPEG


@pytest.mark.e2e
def test_missing_artwork_is_not_found_and_never_proxied(artwork_front):
    front, upstream = artwork_front
    path = f"/artwork/{'0' * 2}/{'0' * 64}-w300.jpg"
    status, _, _ = fetch(front.port, path)
    assert status == 404
    assert upstream.requests_to(path) == []


@pytest.mark.e2e
def test_artwork_refuses_writes(artwork_front):
    front, _ = artwork_front
    status, _, _ = fetch(front.port, f"/artwork/{NAME}", method="POST")
    assert status == 403


def test_artwork_volume_is_written_by_the_sync_worker_and_only_read_by_nginx_and_web():
    root = SHARED_ENV["RETROVUE_ARTWORK_ROOT"]
    assert "artwork" in COMPOSE["volumes"]
    assert _volume_mounts("sync")[root] == ("artwork", "rw")  # the artwork task runs on the sync queue
    assert root not in _volume_mounts("worker")
    assert _volume_mounts("nginx")[root] == ("artwork", "ro")
    assert _volume_mounts("web")[root] == ("artwork", "ro")
    assert f"alias {root}/;" in NGINX_CONF
    assert "sync" in SERVICES
