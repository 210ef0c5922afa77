"""How pre-generation runs its encoders: politely, and never beyond the life of its worker.

Pre-generation is the station's heavy work, and it is never urgent the way air is: a piece not
ready in time is transcoded live. So every pre-generation ffmpeg

- runs at the lowest CPU priority (nice 19) and in the idle I/O class, so on-air channels, the
  feed and the web keep real time while the box encodes flat out;
- uses a bounded number of threads (`RETROVUE_PREGEN_THREADS`, `-threads`), so one encode can't
  fan out over every core;
- dies with the thread that started it (the kernel's parent-death signal), so a worker killed
  outright (SIGKILL, OOM) leaves no encoder behind;
- is stopped by `stop_all` when its worker shuts down (Ctrl-C, SIGTERM), instead of running on
  for minutes to a file nobody will rename.

The priorities and the death signal are set by small util-linux programs the argv starts with
(`setpriv`, `ionice`) and coreutils' `nice`, each exec-ing the next, so the PID is ffmpeg's and no
shell or pre-exec hook is involved (pre-exec code is unsafe in a threaded worker). A program that
is missing is left out, with a warning once: the encode still runs, just less politely.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Sequence
from functools import cache

from django.conf import settings

from retrovue.env import env_int
from retrovue.subprocesses import CommandError, CommandResult, kill_process_group, start_process

logger = logging.getLogger(__name__)

NICENESS = 19
IDLE_IO_CLASS = "3"
# A stopped encoder gets this long to exit on SIGTERM before its process group is killed.
STOP_GRACE_SECONDS = 2.0

_running: set[subprocess.Popen] = set()
_lock = threading.Lock()
_stopping = threading.Event()


def encoder_threads() -> int:
    """Threads one encode may use (RETROVUE_PREGEN_THREADS; default: the machine's cores, at most 4)."""
    configured = getattr(settings, "RETROVUE_PREGEN_THREADS", None)
    if configured is not None:
        return max(1, int(configured))
    return env_int("RETROVUE_PREGEN_THREADS", min(4, os.cpu_count() or 1), minimum=1)


@cache
def polite_prefix() -> tuple[str, ...]:
    """The programs an encoder's argv starts with: parent-death signal, idle I/O, nice 19."""
    prefix: list[str] = []
    missing = []
    if setpriv := shutil.which("setpriv"):
        prefix += [setpriv, "--pdeathsig", "KILL", "--"]
    else:
        missing.append("setpriv (util-linux)")
    if ionice := shutil.which("ionice"):
        prefix += [ionice, "-c", IDLE_IO_CLASS, "--"]
    else:
        missing.append("ionice (util-linux)")
    if nice := shutil.which("nice"):
        prefix += [nice, "-n", str(NICENESS), "--"]
    else:
        missing.append("nice (coreutils)")
    if missing:
        logger.warning(
            "Pre-generation encoders run without %s: install it to encode politely", ", ".join(missing)
        )
    return tuple(prefix)


def polite_argv(argv: Sequence[str]) -> list[str]:
    return [*polite_prefix(), *(str(part) for part in argv)]


def with_thread_limit(argv: Sequence[str], threads: int) -> list[str]:
    """An ffmpeg argv (ending with its output) with every decoder, filter graph and the encoder
    held to `threads` threads."""
    argv = [str(part) for part in argv]
    limit = str(threads)
    limited = [argv[0], "-filter_complex_threads", limit, "-filter_threads", limit]
    for part in argv[1:-1]:
        if part == "-i":
            limited += ["-threads", limit]
        limited.append(part)
    return [*limited, "-threads", limit, argv[-1]]


class EncoderStopped(CommandError):
    """The encoder was stopped because its worker is shutting down: not the piece's fault."""


def stopping() -> bool:
    return _stopping.is_set()


def run_encoder(argv: Sequence[str], *, timeout: float) -> CommandResult:
    """Run one encoder politely to completion (see the module docstring).

    Raises CommandError like `run_command`, and EncoderStopped if `stop_all` stopped it (or had
    been called before it could start).
    """
    named = [str(part) for part in argv]  # errors name the encoder, not the programs in front of it
    if _stopping.is_set():
        raise EncoderStopped(named, "not started: the worker is shutting down")
    process = start_process(
        polite_argv(named), stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
    )
    with _lock:
        _running.add(process)
    try:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_process_group(process)
            _, stderr = process.communicate()
            raise CommandError(named, f"timed out after {timeout:g} s", stderr_tail=_tail(stderr)) from None
    finally:
        with _lock:
            _running.discard(process)
        if process.poll() is None:  # interrupted in this thread (KeyboardInterrupt, SystemExit)
            kill_process_group(process)
            process.wait()
    if _stopping.is_set() and process.returncode != 0:
        raise EncoderStopped(named, "stopped: the worker is shutting down", returncode=process.returncode)
    if process.returncode != 0:
        raise CommandError(
            named,
            f"exited with status {process.returncode}",
            returncode=process.returncode,
            stderr_tail=_tail(stderr),
        )
    return CommandResult(argv=named, returncode=process.returncode, stdout=stdout, stderr=stderr)


def stop_all(grace_seconds: float = STOP_GRACE_SECONDS) -> int:
    """Stop every encoder of this process, and start no more (its worker is shutting down).

    Returns how many were running. The encodes waiting on them fail as interrupted (a retryable
    error) and remove their temp files.
    """
    _stopping.set()
    with _lock:
        running = list(_running)
    for process in running:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)  # ffmpeg stops at once
    for process in running:
        try:
            process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            kill_process_group(process)
    return len(running)


def resume() -> None:
    """Allow encoders again (tests; a worker that restarts its pool)."""
    _stopping.clear()


def _tail(stderr: bytes | None) -> str:
    if not stderr:
        return ""
    return stderr.decode("utf-8", "replace")[-2000:]
