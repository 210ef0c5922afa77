"""`tests/tools/hls_live_check.py` beside a test, stopped as soon as the test has seen what it
came for.

The checker polls for a fixed time and exits 1 on any violation; a test that waited for it to run
out would sit idle for the rest of that time. The checker prints each violation the moment it finds
it (flushed), so what it printed up to a stop is its verdict on the time it ran: the test gives it
a generous bound and stops it once the events it checks, plus a little after, are behind it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

CHECKER = Path(__file__).resolve().parent / "tools" / "hls_live_check.py"


class LiveCheck:
    def __init__(self, playlist_url: str, seconds: float):
        self.until = time.monotonic() + seconds
        self.process = subprocess.Popen(
            [sys.executable, str(CHECKER), playlist_url, f"{seconds:.0f}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def running(self) -> bool:
        return self.process.poll() is None and time.monotonic() < self.until

    def stop(self) -> str:
        """End the check now (or take its end, if it ran out) and return what it printed; fails
        the test on any violation or on a checker that crashed."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
        output = self.process.communicate(timeout=60)[0].decode()
        violations = [line for line in output.splitlines() if line.startswith("FAIL")]
        assert not violations, output
        assert self.process.returncode in (0, -signal.SIGTERM), output
        return output

    def kill(self) -> None:
        """Clean-up after a failed test: the checker goes, whatever it found."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
