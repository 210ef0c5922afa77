"""bench/hls_load.py's players and readers, small: wrk running bench/hls_viewer.lua through the shipped
nginx config against two live channels written by a stand-in, so the load test cannot rot.

20 players on 2 channels for a few seconds: every request answered 200, each player fetches each
new segment once, the report merges, nginx asks the upstream about a channel at most once per
cache period, and the lag reader sees both channels keep real time. (The 2,000-viewer measurement
itself is `bench/hls_load.py`; bench/README.md has its figures.)
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.deploy import nginx_runner

BENCH = Path(__file__).resolve().parents[2] / "bench"
SEGMENT_SECONDS = 1
CHANNELS = ("1", "2")


def bench_module(name: str):
    """A stdlib-only bench module, loaded by path (bench/ is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class LiveChannels(threading.Thread):
    """Stands in for playout: a new segment per channel every second, and a sliding playlist of the
    last five with their program date-times, written the way playout writes it (temp file, rename)."""

    def __init__(self, root: Path):
        super().__init__(daemon=True)
        self.root = root
        self.stopped = threading.Event()
        self.sequence = 0
        for number in CHANNELS:
            (root / number).mkdir(parents=True)
        self.write()

    def write(self) -> None:
        end = datetime.now(UTC)
        first = max(0, self.sequence - 4)
        for number in CHANNELS:
            folder = self.root / number
            (folder / f"seg{self.sequence}.ts").write_bytes(b"\x47" + bytes(19_999))
            lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{SEGMENT_SECONDS}",
                     f"#EXT-X-MEDIA-SEQUENCE:{first}"]  # fmt: skip
            for msn in range(first, self.sequence + 1):
                start = end - timedelta(seconds=SEGMENT_SECONDS * (self.sequence + 1 - msn))
                stamp = start.isoformat(timespec="milliseconds").replace("+00:00", "Z")
                lines += [
                    f"#EXT-X-PROGRAM-DATE-TIME:{stamp}",
                    f"#EXTINF:{SEGMENT_SECONDS}.000,",
                    f"seg{msn}.ts",
                ]
            temporary = folder / "index.m3u8.tmp"
            temporary.write_text("\n".join(lines) + "\n")
            temporary.rename(folder / "index.m3u8")
        self.sequence += 1

    def run(self) -> None:
        while not self.stopped.wait(SEGMENT_SECONDS):
            self.write()


class Authorizer:
    """Stands in for Django's /iptv/authorize (allows channels 1 and 2) and writes an access log in
    the web server's format, which the viewers' report reads to count what reached the upstream."""

    def __init__(self, log: Path):
        self.log = log
        self.lock = threading.Lock()
        authorizer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                allowed = self.headers.get("X-Original-URI", "").startswith(("/hls/1/", "/hls/2/"))
                self.send_response(204 if allowed else 403)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with authorizer.lock, authorizer.log.open("a") as handle:
                    handle.write(
                        f'127.0.0.1 "GET {self.path.split("?")[0]} HTTP/1.1" {204 if allowed else 403} 0 0.001s\n'
                    )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.e2e
def test_wrk_players_fetch_each_new_segment_once_and_the_report_and_lag_reader_add_up(tmp_path):
    binary = nginx_runner.nginx_binary()
    if binary is None or shutil.which("wrk") is None:
        pytest.skip("needs nginx and wrk (Debian: apt-get install nginx wrk)")
    viewers_module = bench_module("hls_viewers")
    lag_module = bench_module("segment_lag")
    root = tmp_path / "hls"
    channels = LiveChannels(root)
    channels.start()
    log = tmp_path / "web.log"
    log.touch()
    authorizer = Authorizer(log)
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    port = nginx_runner.free_port()
    conf = nginx_runner.render(prefix, port=port, upstream_port=authorizer.port, hls_root=root)
    nginx = nginx_runner.start(binary, prefix, conf, port)
    try:
        viewers = viewers_module.WrkViewers(
            f"http://127.0.0.1:{port}", list(CHANNELS), 20, warmup=1.0, count_log=log
        )
        samples = lag_module.sample_lags(
            list(CHANNELS), 4.0, lambda number: lag_module.read_newest(root, number), interval=0.5
        )
        report = viewers.stop()
    finally:
        nginx.stop()
        authorizer.stop()
        channels.stopped.set()

    assert report["wrk_failures"] == {}
    assert report["viewers"] == 20
    assert report["playlist"]["statuses"] == {"200": report["playlist"]["requests"]}
    assert report["segment"]["statuses"] == {"200": report["segment"]["requests"]}
    assert report["all"]["not_200"] == 0
    assert sum(report["wrk_errors"].values()) == 0
    # Each of 20 players polls about once a second and finds one new segment each time.
    assert report["playlist"]["requests"] >= 20 * 2
    assert report["segment"]["requests"] >= 20 * 2
    assert report["all"]["p99_ms"] is not None and report["all"]["p50_ms"] <= report["all"]["p99_ms"]
    assert set(report["channels"]) == set(CHANNELS)
    assert all(row["requests"] > 0 and row["not_200"] == 0 for row in report["channels"].values())

    # nginx's access log: no player fetched a segment twice (10 players per channel).
    fetched = Counter()
    for line in (prefix / "access.log").read_text().splitlines():
        path = line.split('"')[1].split(" ")[1]
        if path.endswith(".ts"):
            fetched[path] += 1
    assert fetched and max(fetched.values()) <= 10

    # Django's side: the auth answer is cached per channel, not asked per viewer request (about
    # 120 of those in the window).
    cached_for = int(re.search(r"proxy_cache_valid 204 403 (\d+)s;", nginx_runner.NGINX_CONF.read_text())[1])
    upstream = report["upstream"]["counts"]
    assert 0 < upstream["authorize"] <= len(CHANNELS) * (report["window_s"] / cached_for + 2)

    lag = lag_module.summarise(samples, SEGMENT_SECONDS)
    assert lag["behind"] == []
    assert set(lag["by_channel"]) == set(CHANNELS)
    assert all(row["samples"] >= 6 for row in lag["by_channel"].values())
    assert 0 <= lag["max_lag_s"] <= 1.5 * SEGMENT_SECONDS
