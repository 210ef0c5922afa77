"""Replays the real Plex captures in tests/fixtures/plex_captures/xml over HTTP, so the sync reads them
through exactly the code path it uses against a live server (client, retries, parsing, writing)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "plex_captures" / "xml"
TOKEN = "fixture-token"
EMPTY = b'<?xml version="1.0" encoding="UTF-8"?><MediaContainer size="0" totalSize="0" offset="0"></MediaContainer>'


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def route(path: str, query: dict, headers) -> bytes:
    """The capture that answers a request, following the endpoint table in SOURCES.md."""
    size = headers.get("X-Plex-Container-Size") or query.get("X-Plex-Container-Size", [None])[0]
    start = int(headers.get("X-Plex-Container-Start") or query.get("X-Plex-Container-Start", ["0"])[0])
    plex_type = query.get("type", [""])[0]
    if path == "/":
        return (
            _fixture("root__server_info_templated__ha.xml")
            .replace(b"{name}", b"Plex Server 1")
            .replace(b"{machine_identifier}", b"unique_id_123")
        )
    if path == "/library/sections":
        return _fixture("library_sections__ha.xml")
    if path.startswith("/library/sections/") and path.endswith("/all"):
        section = path.split("/")[3]
        if start > 0:
            return EMPTY  # every capture is a single page
        if size == "0":
            if section == "1":
                return _fixture("library_sections_1_all__size0_totalSize_only__ha.xml")
            if section == "2" and plex_type == "4":
                return _fixture("library_sections_2_all_type4__size0_totalSize_only__ha.xml")
            return EMPTY
        if section == "1" and plex_type == "1":
            return _fixture("library_sections_1_all__movies_legacy_guid__ha.xml")
        if section == "2" and plex_type == "2":
            return _fixture("library_sections_2_all__shows_legacy_guid__ha.xml")
        if section == "2" and plex_type == "4":
            return _fixture("library_metadata_20_children__season_episodes_flat_Part__ha.xml")
        return EMPTY
    if path == "/library/metadata/1":
        return _fixture("library_metadata_1__movie_legacy_guid_streams__ha.xml")
    if path == "/library/metadata/20/children":
        return _fixture("library_metadata_20_children__season_episodes_flat_Part__ha.xml")
    return EMPTY


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        parts = urlsplit(self.path)
        if self.headers.get("X-Plex-Token") != TOKEN:
            self._send(401, b"<html><body>Unauthorized</body></html>")
            return
        self._send(200, route(parts.path, parse_qs(parts.query), self.headers))

    def _send(self, status: int, body: bytes):
        self.send_response(status)
        self.send_header("Content-Type", "text/xml;charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class FixtureServer:
    def __enter__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
