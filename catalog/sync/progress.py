"""Progress and statistics of one sync run, written to its SyncRun row a few times a second at most."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from django.utils import timezone

from catalog.models import SyncRun

logger = logging.getLogger("catalog.sync")

MAX_CHANGE_LINES = 500


@dataclass
class SyncStats:
    processed: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    skipped: int = 0
    failed: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Progress:
    """Counters, the current label and real-change lines of a run; flushed to the SyncRun row."""

    run: SyncRun
    stats: SyncStats = field(default_factory=SyncStats)
    min_interval: float = 0.25
    changes: list[str] = field(default_factory=list)
    library_label: str = ""
    _last_flush: float = 0.0

    def start_library(self, title: str, number: int, count: int) -> None:
        self.library_label = f"{title} ({number}/{count})"
        self.set(0, 0, "", force=True)

    def set(self, done: int, total: int, item_label: str = "", *, force: bool = False) -> None:
        self.run.progress_done = done
        self.run.progress_total = total
        parts = [self.library_label, item_label and f"{item_label} ({done}/{total})"]
        self.run.progress_label = " · ".join(part for part in parts if part)[:300]
        self.flush(force=force)

    def change(self, line: str) -> None:
        logger.info("%s", line)
        self.changes.append(line)
        if len(self.changes) > MAX_CHANGE_LINES:
            del self.changes[: len(self.changes) - MAX_CHANGE_LINES]

    def flush(self, *, force: bool = False, api_calls: int | None = None) -> None:
        now = time.monotonic()
        if not force and now - self._last_flush < self.min_interval:
            return
        self._last_flush = now
        for name, value in self.stats.as_dict().items():
            setattr(self.run, name, value)
        if api_calls is not None:
            self.run.api_calls = api_calls
        self.run.changes = list(self.changes)
        SyncRun.objects.filter(pk=self.run.pk).update(
            **self.stats.as_dict(),
            api_calls=self.run.api_calls,
            progress_done=self.run.progress_done,
            progress_total=self.run.progress_total,
            progress_label=self.run.progress_label,
            changes=self.run.changes,
            heartbeat_at=timezone.now(),
        )
