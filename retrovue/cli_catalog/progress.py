"""A sync's progress on stderr while it runs: a bar in a terminal, plain lines otherwise."""

from __future__ import annotations

import shutil
import threading
import time
from typing import TextIO


class ProgressReporter:
    """Shows a run's progress on stderr while it runs: a bar in a terminal, plain lines otherwise.

    It reads the SyncRun instance the sync updates in memory (Progress sets the counters and label
    on that same object), so it needs no database connection and works inside a dry run's
    uncommitted transaction.
    """

    def __init__(
        self, run, stream: TextIO, *, plain: bool = False, interval: float = 0.1, line_every: float = 5.0
    ):
        self.run = run
        self.stream = stream
        self.bar = not plain and _is_terminal(stream)
        self.interval = interval
        self.line_every = line_every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_line = ("", -1.0)

    def __enter__(self) -> ProgressReporter:
        self._thread = threading.Thread(target=self._loop, name="sync-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.bar:
            self.stream.write("\r\x1b[K")
            self.stream.flush()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.draw()
            except (OSError, ValueError):  # the stream went away (closed pipe): stop drawing
                return

    def draw(self) -> None:
        done, total, label = self.run.progress_done, self.run.progress_total, self.run.progress_label
        if self.bar:
            line = render_bar(done, total, label, shutil.get_terminal_size().columns)
            if line != self._last_line[0]:
                self._last_line = (line, 0.0)
                self.stream.write("\r\x1b[K" + line)
                self.stream.flush()
            return
        now = time.monotonic()
        previous, when = self._last_line
        if label and label != previous and now - when >= self.line_every:
            self._last_line = (label, now)
            self.stream.write(f"… {label}\n")
            self.stream.flush()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def render_bar(done: int, total: int, label: str, columns: int = 80) -> str:
    """One line: `[######------]  45%  123/270  TV Shows (1/2) · Listing episodes`."""
    width = 24
    if total > 0:
        fraction = min(max(done / total, 0.0), 1.0)
        filled = round(fraction * width)
        head = f"[{'#' * filled}{'-' * (width - filled)}] {fraction:4.0%}  {done}/{total}"
    else:
        head = f"[{'.' * width}]"
    line = f"{head}  {label}" if label else head
    limit = max(columns - 1, 20)
    return line if len(line) <= limit else line[: limit - 1] + "…"
