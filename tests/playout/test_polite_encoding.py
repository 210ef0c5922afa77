"""Pre-generation encodes politely: idle CPU and I/O priority, bounded threads, and it never
outlives its worker (stopped on shutdown, killed with a killed parent, partial files cleaned)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from playout import encoder_process, pregen, pregen_encode
from playout.encoder_process import EncoderStopped, run_encoder, with_thread_limit
from playout.models import PregenPiece, PregenStatus
from retrovue.subprocesses import start_process, stop_process
from scheduling.models import StreamProfile

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def children_of(pid: int) -> list[int]:
    """Live processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(predicate, timeout: float = 20, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out waiting")


@pytest.fixture(autouse=True)
def encoders_allowed():
    encoder_process.resume()
    yield
    encoder_process.resume()


def test_an_encoder_runs_at_idle_cpu_and_io_priority():
    probe = (
        "import os, subprocess;"
        "print(os.getpriority(os.PRIO_PROCESS, 0));"
        "print(subprocess.run(['ionice'], capture_output=True, text=True).stdout.strip())"
    )
    result = run_encoder([sys.executable, "-c", probe], timeout=30)
    niceness, io_class = result.stdout.decode().split("\n")[:2]
    assert int(niceness) == encoder_process.NICENESS
    assert io_class == "idle"


def test_the_thread_limit_reaches_every_input_the_filters_and_the_encoder():
    argv = with_thread_limit(["ffmpeg", "-y", "-i", "a.ts", "-i", "b.ts", "-c:v", "libx264", "out.ts"], 2)
    assert argv[0] == "ffmpeg"
    assert argv[-3:] == ["-threads", "2", "out.ts"]
    assert argv.count("-threads") == 3
    for at, part in enumerate(argv):
        if part == "-i":
            assert argv[at - 2 : at] == ["-threads", "2"]
    assert argv[1:3] == ["-filter_complex_threads", "2"]


def test_an_encoder_dies_with_the_process_that_started_it(tmp_path):
    starter = start_process(
        [
            sys.executable,
            "-c",
            "from playout.encoder_process import run_encoder; run_encoder(['sleep', '300'], timeout=600)",
        ],
        cwd=str(PROJECT_ROOT),
    )
    try:
        encoder = wait_for(lambda: children_of(starter.pid))[0]
        wait_for(lambda: Path(f"/proc/{encoder}/comm").read_text().strip() == "sleep")
        os.kill(starter.pid, signal.SIGKILL)
        starter.wait()
        wait_for(lambda: not alive(encoder))
    finally:
        stop_process(starter, grace_seconds=1)


def test_stop_all_stops_running_encoders_and_starts_no_more():
    outcome: list[BaseException] = []

    def encode():
        try:
            run_encoder(["sleep", "300"], timeout=600)
        except BaseException as error:
            outcome.append(error)

    worker = threading.Thread(target=encode)
    worker.start()
    encoder = wait_for(lambda: [pid for pid in children_of(os.getpid()) if _comm(pid) == "sleep"])[0]
    assert encoder_process.stop_all() == 1
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert not alive(encoder)
    assert isinstance(outcome[0], EncoderStopped)
    with pytest.raises(EncoderStopped):
        run_encoder(["true"], timeout=5)


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


@pytest.fixture
def profile(db, settings, tmp_path):
    settings.RETROVUE_PREGEN_ROOT = str(tmp_path / "pregen")
    return StreamProfile.objects.create(
        name="Tiny", width=160, height=90, frame_rate="25", video_bitrate_kbps=200, audio_bitrate_kbps=64,
        segment_seconds=2,
    )  # fmt: skip


def temp_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.tmp"))


def test_an_encode_uses_the_bounded_thread_count(profile, settings, monkeypatch):
    settings.RETROVUE_PREGEN_THREADS = 1
    seen: list[list[str]] = []
    real = pregen_encode.run_encoder

    def recording(argv, **options):
        seen.append(list(argv))
        return real(argv, **options)

    monkeypatch.setattr(pregen_encode, "run_encoder", recording)
    row = PregenPiece.objects.create(special=pregen.SLATE, profile=profile, in_ms=0, out_ms=2000)
    row = pregen.encode(row)
    assert row.status == PregenStatus.READY, row.error
    assert seen[0][-3:-1] == ["-threads", "1"]


def test_an_encode_stopped_by_shutdown_is_retryable_and_leaves_no_partial_file(profile, settings):
    root = Path(settings.RETROVUE_PREGEN_ROOT)
    # Long enough to be running when the stop comes, whatever the machine's speed.
    row = PregenPiece.objects.create(special=pregen.TEST_PATTERN, profile=profile, in_ms=0, out_ms=3_600_000)
    stopper = threading.Thread(
        target=lambda: (
            wait_for(lambda: any(path.stat().st_size for path in temp_files(root)), timeout=60),
            encoder_process.stop_all(),
        )
    )
    stopper.start()
    row = pregen.encode(row)
    stopper.join()
    assert row.status == PregenStatus.FAILED
    assert row.error.startswith(pregen.ENCODER_INTERRUPTED)
    assert temp_files(root) == []
    assert not [pid for pid in children_of(os.getpid()) if _comm(pid) == "ffmpeg"]
    # A stopping worker leaves further rows pending for the next one.
    other = PregenPiece.objects.create(special=pregen.SLATE, profile=profile, in_ms=0, out_ms=2000)
    assert pregen.encode(other).status == PregenStatus.PENDING


def test_partial_files_of_dead_encoders_of_this_machine_are_removed_at_start(profile, settings):
    root = Path(settings.RETROVUE_PREGEN_ROOT) / str(profile.pk) / "0000"
    root.mkdir(parents=True)
    finished = subprocess.run(["true"], check=True)
    del finished
    dead_pid = _exited_pid()
    mine = pregen_encode._owner_tag()
    host = mine.split("-", 1)[0]
    files = {
        "dead": root / f"1.ts.{host}-{dead_pid}-12345-abcdef01.tmp",
        "legacy": root / "2.ts.abcdef01.tmp",
        "running": root / f"3.ts.{mine}-abcdef01.tmp",
        "other_machine": root / f"4.ts.elsewhere-{dead_pid}-12345-abcdef01.tmp",
        "finished": root / "5.ts",
    }
    for path in files.values():
        path.write_bytes(b"x")
    assert pregen_encode.remove_partial_files() == 2
    assert {name for name, path in files.items() if path.exists()} == {"running", "other_machine", "finished"}


def _exited_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid
