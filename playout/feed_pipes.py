"""The pipes a channel's ffmpeg reads its feed (`playout.feed.ChannelFeed`) from: `FeedServer`."""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import logging
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from django.db import close_old_connections, connections

from playout.feed import ChannelFeed, ReaderGone

logger = logging.getLogger(__name__)

# A pipe holds this much (Linux's default is 64 KB, the unprivileged maximum 1 MB): a whole SD GOP
# then goes in with one write, and the feed's thread does not wake again until the next one is due.
PIPE_BYTES = 1 << 20
_F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ (Python 3.10+ on Linux; the number is the kernel's)
# After its feed closed, how long (and how often) a feed's thread offers ffmpeg an empty next entry.
READER_RELEASE_SECONDS = 5.0
READER_RELEASE_POLL = 0.02
# A supervisor's pipe folder in the temp folder: this, its process id, a dash, random letters.
FOLDER_PREFIX = "retrovue-feed-"


class FeedServer:
    """Serves every channel's feed to its ffmpeg through named pipes in a private folder.

    Each feed has two FIFOs, and its concat list names them in turn (entry n is pipe n mod 2).
    One thread per feed opens the next pipe for writing, which waits in the kernel until ffmpeg
    opens it to read that entry (that is ffmpeg asking for it), serves the entry (`ChannelFeed.serve`)
    and closes the pipe: ffmpeg reads to its end, closes it and opens the other. Two pipes, not one:
    the thread can only open pipe n+2 after ffmpeg opened pipe n+1, so after it closed pipe n,
    and bytes of one entry never run on into the next.

    Before, ffmpeg fetched each entry over HTTP from a loopback server: its TCP input waits for
    data in 0.1 s polls (POLLING_TIME in libavformat), 0.43 ms of CPU a second per idle ffmpeg on
    this box (the whole of its work on a channel is about 2), and every entry was a new connection,
    server thread and request parse. A read from a pipe waits in the kernel without waking. The
    folder is made by `tempfile.mkdtemp` (0700) and the pipes are 0600: no other user can read a
    channel's pieces or learn its schedule through them (the HTTP server needed a secret per run).
    """

    def __init__(self, directory: Path | None = None):
        self._feeds: dict[str, ChannelFeed] = {}
        self._lock = threading.Lock()
        self._own_directory = directory is None
        if directory is None:
            _sweep_dead_folders(Path(tempfile.gettempdir()))
            directory = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))
        self.directory = directory

    def start(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def stop(self) -> None:
        with self._lock:
            feeds = list(self._feeds.values())
        for feed in feeds:
            self.unregister(feed)
        if self._own_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def register(self, feed: ChannelFeed) -> None:
        pipe = _FeedPipes(feed, [self.directory / f"{feed.token}-{parity}.ts" for parity in (0, 1)])
        with self._lock:
            self._feeds[feed.token] = feed
            feed.pipes = pipe
        pipe.start()

    def unregister(self, feed: ChannelFeed) -> None:
        feed.close()
        with self._lock:
            self._feeds.pop(feed.token, None)
        if feed.pipes is not None:
            feed.pipes.stop()

    def url(self, feed: ChannelFeed, index: int) -> str:
        """What the concat list names for entry `index` of the feed: one of its two pipes."""
        return str(self.directory / f"{feed.token}-{index % 2}.ts")


def _sweep_dead_folders(root: Path) -> None:
    """Remove the pipe folders of supervisors that died without stopping (killed): the folder names
    its process, and one whose process is gone is nobody's."""
    for folder in root.glob(f"{FOLDER_PREFIX}*"):
        pid = folder.name.removeprefix(FOLDER_PREFIX).partition("-")[0]
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


class _FeedPipes:
    """One feed's two pipes and the thread that writes entries into them."""

    def __init__(self, feed: ChannelFeed, paths: list[Path]):
        self.feed = feed
        self.paths = paths
        self._lock = threading.Lock()
        self._opening: Path | None = None  # the pipe the thread waits in open() on
        self._unblockers: list[int] = []
        for path in paths:
            path.unlink(missing_ok=True)
            os.mkfifo(path, 0o600)
        self._thread = threading.Thread(target=self._run, name=f"feed-{feed.channel_number}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Let the thread end (the feed is closed): if it waits for ffmpeg to open a pipe, open the
        pipe's other end here, so its open() returns and it sees the feed closed. It waits nowhere
        else past a write (a stopped ffmpeg's pipe fails the write) or the feed's own wait."""
        with self._lock:
            if self._opening is not None:
                with contextlib.suppress(OSError):
                    self._unblockers.append(os.open(self._opening, os.O_RDONLY | os.O_NONBLOCK))

    def _run(self) -> None:
        index = 0
        try:
            for index in itertools.count():
                descriptor = self._open(self.paths[index % 2])
                if descriptor is None:
                    break
                try:
                    self._serve(index, descriptor)
                finally:
                    os.close(descriptor)
            self._end_reader_wait(self.paths[index % 2])
        finally:
            with self._lock:
                self._release_unblockers()
            for path in self.paths:
                path.unlink(missing_ok=True)

    def _end_reader_wait(self, path: Path) -> None:
        """The feed is closed: if ffmpeg opens (or waits to open) its next entry, give it an empty one.
        A read from a pipe restarts after a signal, so an ffmpeg told to stop (SIGTERM) would wait
        there for a writer that never comes, until it is killed after its grace; an empty entry ends
        its input instead, and it closes its last segment and exits. Asked briefly, every
        `READER_RELEASE_POLL` s: a killed ffmpeg never opens anything."""
        deadline = time.monotonic() + READER_RELEASE_SECONDS
        while time.monotonic() < deadline:
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
                return
            except OSError:  # ENXIO: no reader has it open (yet), or it is gone
                time.sleep(READER_RELEASE_POLL)

    def _open(self, path: Path) -> int | None:
        """Wait for ffmpeg to open `path` for the next entry; None once the feed is closed."""
        with self._lock:
            if self.feed.closed:
                return None
            self._opening = path
        try:
            descriptor = os.open(path, os.O_WRONLY)
        except OSError as error:
            if not self.feed.closed:
                logger.warning("Channel %s: feed pipe %s failed: %s", self.feed.channel_number, path, error)
            return None
        finally:
            with self._lock:
                self._opening = None
                self._release_unblockers()
        if self.feed.closed:
            os.close(descriptor)
            return None
        # Over /proc/sys/fs/pipe-max-size this fails: the default size works, with more wake-ups.
        with contextlib.suppress(OSError):
            fcntl.fcntl(descriptor, _F_SETPIPE_SZ, PIPE_BYTES)
        return descriptor

    def _release_unblockers(self) -> None:
        for unblocker in self._unblockers:
            os.close(unblocker)
        self._unblockers.clear()

    def _serve(self, index: int, descriptor: int) -> None:
        def send(data: bytes) -> None:
            view = memoryview(data)
            while view:
                view = view[os.write(descriptor, view) :]

        feed = self.feed
        close_old_connections()
        try:
            feed.serve(index, send)
        except ReaderGone:
            logger.info("Channel %s: ffmpeg left entry %s early", feed.channel_number, index)
        except Exception as error:
            feed.status.last_error = str(error)[:500]
            logger.exception("Channel %s: entry %s failed", feed.channel_number, index)
        finally:
            connections.close_all()


__all__ = ["FeedServer"]
