"""The feed's GOP splitter (`playout.mpegts.iter_gops`) keeps exactly the packets a packet-by-packet
reading keeps, however the bytes arrive: it only finds them faster once the stream is under way."""

from __future__ import annotations

import io

import pytest
from django.conf import settings

from playout.mpegts import NULL_PID, TS_PACKET, TsError, iter_gops, parse_layout, pes_times
from retrovue.subprocesses import run_command


def reference_gops(data: bytes) -> list[tuple[int, bytes]]:
    """The rule spelled out one packet at a time: drop what precedes the first keyframe (each audio
    stream from its first PES after it), drop null packets, split before every keyframe, and open
    the first GOP with the head's program tables."""
    layout = parse_layout(data[: 188 * 2048])
    gops: list[tuple[int, bytearray]] = []
    started: set[int] = set()
    for at in range(0, len(data) - len(data) % TS_PACKET, TS_PACKET):
        packet = data[at : at + TS_PACKET]
        pid = (packet[1] & 0x1F) << 8 | packet[2]
        starts = bool(packet[1] & 0x40) and pes_times(data, at) is not None
        random_access = bool(packet[3] & 0x20) and packet[4] > 0 and bool(packet[5] & 0x40)
        if pid == layout.video_pid and starts and random_access:
            gops.append((pes_times(data, at)[0], bytearray(layout.psi if not gops else b"")))
        if not gops or pid == NULL_PID:
            continue
        if pid == layout.video_pid or pid in layout.audio_pids:
            if starts:
                started.add(pid)
            if pid not in started:
                continue
        gops[-1][1].extend(packet)
    return [(pts, bytes(data)) for pts, data in gops]


class Trickle(io.RawIOBase):
    """A source that hands out at most `size` bytes per read, cutting packets in two."""

    def __init__(self, data: bytes, size: int):
        self.data, self.size, self.at = data, size, 0

    def read(self, _wanted: int = -1) -> bytes:
        chunk = self.data[self.at : self.at + self.size]
        self.at += len(chunk)
        return chunk


@pytest.fixture(scope="module")
def stuffed_stream(tmp_path_factory) -> bytes:
    """2 s GOPs at 30 fps with AAC audio, muxed at a constant rate so ffmpeg pads with null packets."""
    target = tmp_path_factory.mktemp("gops") / "stuffed.ts"
    run_command(
        [
            settings.RETROVUE_FFMPEG, "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=30:duration=7",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=7",
            "-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-keyint_min", "60",
            "-sc_threshold", "0", "-flags", "+cgop", "-c:a", "aac", "-b:a", "64k",
            "-muxrate", "900k", "-f", "mpegts", str(target),
        ],
        timeout=60,
    )  # fmt: skip
    return target.read_bytes()


def packets_of(data: bytes, pid: int) -> int:
    return sum(
        1 for at in range(0, len(data), TS_PACKET) if ((data[at + 1] & 0x1F) << 8 | data[at + 2]) == pid
    )


def test_gops_keep_exactly_the_packets_a_packet_by_packet_reading_keeps(stuffed_stream):
    assert packets_of(stuffed_stream, NULL_PID) > 100  # the stream really has padding to drop
    layout = parse_layout(stuffed_stream[: 188 * 2048])
    gops = [(gop.pts, gop.data) for gop in iter_gops(io.BytesIO(stuffed_stream), layout)]
    expected = reference_gops(stuffed_stream)
    assert len(expected) == 4
    assert gops == expected
    assert all(packets_of(data, NULL_PID) == 0 for _pts, data in gops)


@pytest.mark.parametrize("read_size", [TS_PACKET * 3 + 17, 4096, 65_537])
def test_gops_do_not_depend_on_how_the_bytes_arrive(stuffed_stream, read_size):
    layout = parse_layout(stuffed_stream[: 188 * 2048])
    gops = [(gop.pts, gop.data) for gop in iter_gops(Trickle(stuffed_stream, read_size), layout)]
    assert gops == reference_gops(stuffed_stream)


def test_a_stream_joined_mid_gop_starts_at_its_next_keyframe(stuffed_stream):
    layout = parse_layout(stuffed_stream[: 188 * 2048])
    middle = len(stuffed_stream) // 3 // TS_PACKET * TS_PACKET
    gops = list(iter_gops(io.BytesIO(stuffed_stream[middle:]), layout))
    whole = reference_gops(stuffed_stream)
    assert [gop.pts for gop in gops] == [pts for pts, _data in whole if pts > gops[0].pts - 1][: len(gops)]
    assert gops[0].data.startswith(layout.psi)
    assert [gop.data for gop in gops[1:]] == [data for pts, data in whole if pts > gops[0].pts]


def test_lost_packet_sync_after_the_first_gop_is_an_error(stuffed_stream):
    layout = parse_layout(stuffed_stream[: 188 * 2048])
    broken = bytearray(stuffed_stream)
    broken[len(broken) // 2 // TS_PACKET * TS_PACKET] = 0x00
    with pytest.raises(TsError, match="lost packet sync"):
        list(iter_gops(io.BytesIO(bytes(broken)), layout))
