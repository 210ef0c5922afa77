"""The one way RetroVue starts other programs.

argv lists only (never a shell string), each child in its own process group so stopping it also
stops whatever it spawned, a timeout on anything that is expected to finish, and failures raised
as a typed error carrying the tail of stderr.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

STDERR_TAIL_CHARS = 2000


class CommandError(Exception):
    """A command failed, timed out, or could not be started."""

    def __init__(
        self, argv: Sequence[str], message: str, *, returncode: int | None = None, stderr_tail: str = ""
    ):
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr_tail = stderr_tail
        program = os.path.basename(self.argv[0]) if self.argv else "?"
        detail = f": {stderr_tail.strip()}" if stderr_tail.strip() else ""
        super().__init__(f"{program} {message}{detail}")


@dataclass(frozen=True)
class CommandResult:
    argv: list[str]
    returncode: int
    stdout: bytes
    stderr: bytes


def run_command(
    argv: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    check: bool = True,
    input_bytes: bytes | None = None,
) -> CommandResult:
    """Run a command to completion; kill its whole process group if it overruns `timeout`."""
    argv = [str(part) for part in argv]
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if input_bytes is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as error:
        raise CommandError(argv, f"could not be started ({error.strerror or error})") from error
    try:
        stdout, stderr = process.communicate(input=input_bytes, timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_process_group(process)
        _, stderr = process.communicate()
        raise CommandError(argv, f"timed out after {timeout:g} s", stderr_tail=_tail(stderr)) from None
    if check and process.returncode != 0:
        raise CommandError(
            argv,
            f"exited with status {process.returncode}",
            returncode=process.returncode,
            stderr_tail=_tail(stderr),
        )
    return CommandResult(argv=argv, returncode=process.returncode, stdout=stdout, stderr=stderr)


def start_process(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | None = None, **popen_kwargs
) -> subprocess.Popen:
    """Start a long-running child in its own process group (stop it with `stop_process`)."""
    argv = [str(part) for part in argv]
    try:
        return subprocess.Popen(
            argv, env=dict(env) if env is not None else None, cwd=cwd, start_new_session=True, **popen_kwargs
        )
    except OSError as error:
        raise CommandError(argv, f"could not be started ({error.strerror or error})") from error


def stop_process(process: subprocess.Popen, *, grace_seconds: float = 10.0) -> int | None:
    """Stop one child: see `stop_processes`."""
    stop_processes([process], grace_seconds=grace_seconds)
    return process.returncode


def stop_processes(processes: Sequence[subprocess.Popen], *, grace_seconds: float = 10.0) -> None:
    """SIGTERM each child, wait for all of them together, then SIGKILL the groups of the stragglers.

    Only the leader gets SIGTERM: servers such as Celery and gunicorn shut their own children
    down in order, and signalling the whole group would make them respawn or log errors.
    Whatever is left of a group after the grace period is killed outright.
    """
    for process in processes:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline and any(process.poll() is None for process in processes):
        time.sleep(0.05)
    for process in processes:
        kill_process_group(process)
        if process.poll() is None:
            process.wait()


def kill_process_group(process: subprocess.Popen) -> None:
    _signal_group(process, signal.SIGKILL)


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def _tail(stderr: bytes | None) -> str:
    if not stderr:
        return ""
    return stderr.decode("utf-8", "replace")[-STDERR_TAIL_CHARS:]
