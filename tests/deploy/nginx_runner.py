"""Run the shipped deploy/nginx.conf unprivileged: render its install-specific lines, start, stop.

The config names real install paths (port 80, the `web` upstream, /srv/retrovue/hls,
/srv/retrovue/artwork and /srv/retrovue/media, nginx's cache folder, /run and /var/log). Rendering swaps exactly those lines, each of which must occur once, so a test never
silently runs a config that drifted from the one operators get.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NGINX_CONF = PROJECT_ROOT / "deploy" / "nginx.conf"

LISTEN = "listen 80;"
UPSTREAM = "server web:8000;"
TS_FANOUT_UPSTREAM = "server tsfanout:8090;"
HLS_VIEWER_LOG = (
    "access_log syslog:server=tsfanout:8091,nohostname,tag=retrovue retrovue_hls_viewer"
    " if=$retrovue_hls_viewer_channel;"
)
HLS_ALIAS = "alias /srv/retrovue/hls/;"
ARTWORK_ALIAS = "alias /srv/retrovue/artwork/;"
MEDIA_ALIAS = "alias /srv/retrovue/media/;"
AUTH_CACHE = (
    "proxy_cache_path /var/cache/retrovue-nginx levels=1 keys_zone=retrovue_auth:1m max_size=16m inactive=1m;"
)
PLAYLIST_CACHE = (
    "proxy_cache_path /var/cache/retrovue-nginx-playlists levels=1 keys_zone=retrovue_playlists:4m "
    "max_size=64m inactive=1m;"
)
STREAM_AUTH_DEFAULT = "default off;"
FORWARDED_PROTO_DEFAULT = "default $scheme;"
PID = "pid /run/nginx.pid;"
ACCESS_LOG = "access_log /var/log/nginx/access.log retrovue;"
HTTP_BLOCK = "http {"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(path, os.X_OK)), None
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _replace_once(text: str, old: str, new: str) -> str:
    """Replace the one configuration line (comments aside) that reads exactly `old`."""
    lines = text.splitlines(keepends=True)
    matches = [index for index, line in enumerate(lines) if line.strip() == old]
    if len(matches) != 1:
        raise AssertionError(
            f"the deploy/ nginx config should have the line {old!r} exactly once, found {len(matches)}"
        )
    line = lines[matches[0]]
    lines[matches[0]] = line.replace(old, new)
    return "".join(lines)


def render(
    prefix: Path,
    *,
    port: int,
    upstream_port: int,
    hls_root: Path,
    stream_auth_rules: str = "",
    forwarded_proto_rules: str = "",
    artwork_root: Path | None = None,
    media_root: Path | None = None,
    ts_fanout_port: int | None = None,
    hls_log_port: int | None = None,
) -> Path:
    """Write a copy of deploy/nginx.conf into `prefix` that runs there as the current user.

    The TS fan-out upstream defaults to `upstream_port` (a stand-in that answers everything), and
    the HLS viewer log to a UDP port nobody reads."""
    text = NGINX_CONF.read_text()
    text = _replace_once(text, LISTEN, f"listen 127.0.0.1:{port};")
    text = _replace_once(text, UPSTREAM, f"server 127.0.0.1:{upstream_port};")
    text = _replace_once(text, TS_FANOUT_UPSTREAM, f"server 127.0.0.1:{ts_fanout_port or upstream_port};")
    text = _replace_once(
        text,
        HLS_VIEWER_LOG,
        HLS_VIEWER_LOG.replace("tsfanout:8091", f"127.0.0.1:{hls_log_port or free_port()}"),
    )
    text = _replace_once(text, HLS_ALIAS, f"alias {hls_root}/;")
    if artwork_root is None:
        artwork_root = prefix / "artwork"
        artwork_root.mkdir(parents=True, exist_ok=True)
    text = _replace_once(text, ARTWORK_ALIAS, f"alias {artwork_root}/;")
    if media_root is None:
        media_root = prefix / "media"
        media_root.mkdir(parents=True, exist_ok=True)
    text = _replace_once(text, MEDIA_ALIAS, f"alias {media_root}/;")
    text = _replace_once(
        text, AUTH_CACHE, AUTH_CACHE.replace("/var/cache/retrovue-nginx", f"{prefix}/auth-cache")
    )
    text = _replace_once(
        text,
        PLAYLIST_CACHE,
        PLAYLIST_CACHE.replace("/var/cache/retrovue-nginx-playlists", f"{prefix}/playlist-cache"),
    )
    text = _replace_once(text, PID, f"pid {prefix}/nginx.pid;")
    text = _replace_once(text, ACCESS_LOG, f"access_log {prefix}/access.log retrovue;")
    text = _replace_once(text, STREAM_AUTH_DEFAULT, f"{STREAM_AUTH_DEFAULT}\n        {stream_auth_rules}")
    text = _replace_once(
        text, FORWARDED_PROTO_DEFAULT, f"{FORWARDED_PROTO_DEFAULT}\n        {forwarded_proto_rules}"
    )
    return _write_runnable(prefix, text)


ORIGIN_CONF = PROJECT_ROOT / "deploy" / "nginx-origin.conf"
ORIGIN_LISTEN = "listen 8081;"


def render_origin(prefix: Path, *, port: int, hls_root: Path) -> Path:
    """Write a copy of deploy/nginx-origin.conf (a playout machine's HLS origin) into `prefix`."""
    text = ORIGIN_CONF.read_text()
    text = _replace_once(text, ORIGIN_LISTEN, f"listen 127.0.0.1:{port};")
    text = _replace_once(text, HLS_ALIAS, f"alias {hls_root}/;")
    text = _replace_once(text, PID, f"pid {prefix}/nginx.pid;")
    return _write_runnable(prefix, text)


def _write_runnable(prefix: Path, text: str) -> Path:
    # Temp folders are compiled into each nginx build (/var/lib/nginx on Debian); keep them here.
    temp_paths = "\n".join(
        f"    {directive} {prefix}/temp/{name};"
        for directive, name in (
            ("client_body_temp_path", "body"),
            ("proxy_temp_path", "proxy"),
            ("fastcgi_temp_path", "fastcgi"),
            ("uwsgi_temp_path", "uwsgi"),
            ("scgi_temp_path", "scgi"),
        )
    )
    text = _replace_once(text, HTTP_BLOCK, f"{HTTP_BLOCK}\n{temp_paths}")
    if os.geteuid() == 0:
        # As root, nginx would switch its workers to `nobody`, who cannot read pytest's 0700 folders.
        text = f"user {getpass.getuser()};\n{text}"
    (prefix / "temp").mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(text)
    return conf


def command(binary: str, prefix: Path, conf: Path, *extra: str) -> list[str]:
    # -e: nginx opens its compiled-in error log before reading the config; point it here instead.
    return [binary, "-p", f"{prefix}/", "-c", str(conf), "-e", str(prefix / "error.log"), *extra]


def check_config(binary: str, prefix: Path, conf: Path) -> subprocess.CompletedProcess:
    return subprocess.run(command(binary, prefix, conf, "-t"), capture_output=True, text=True, timeout=30)


@dataclass
class RunningNginx:
    process: subprocess.Popen
    port: int
    prefix: Path

    def logs(self) -> str:
        parts = []
        for name in ("stderr.log", "error.log"):
            path = self.prefix / name
            if path.exists():
                parts.append(path.read_text()[-3000:])
        return "\n".join(parts)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start(binary: str, prefix: Path, conf: Path, port: int, *, timeout: float = 10.0) -> RunningNginx:
    """Start nginx in the foreground (its own process group) and wait until it accepts connections."""
    with (prefix / "stderr.log").open("wb") as stderr:
        process = subprocess.Popen(
            command(binary, prefix, conf, "-g", "daemon off;"),
            stdin=subprocess.DEVNULL,
            stdout=stderr,
            stderr=stderr,
            start_new_session=True,
        )
    running = RunningNginx(process=process, port=port, prefix=prefix)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"nginx exited with status {process.returncode}:\n{running.logs()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return running
        except OSError:
            time.sleep(0.05)
    running.stop()
    raise AssertionError(f"nginx did not listen on 127.0.0.1:{port} within {timeout} s:\n{running.logs()}")
