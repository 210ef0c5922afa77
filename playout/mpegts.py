"""MPEG-TS as the feed needs it: the program tables, keyframes, groups of pictures, cuts.

Pre-generated pieces are MPEG-TS with a closed GOP of the segment length, so a piece can be split
GOP by GOP (pacing) and cut at any keyframe (tune-in, interrupts) by looking at packet headers
alone, with no ffmpeg run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

TS_PACKET = 188
SYNC_BYTE = 0x47
PAT_PID = 0x0000
SDT_PID = 0x0011
NULL_PID = 0x1FFF
PTS_HZ = 90_000
PTS_WRAP = 1 << 33
VIDEO_STREAM_TYPES = frozenset({0x01, 0x02, 0x1B, 0x24})
AUDIO_STREAM_TYPES = frozenset({0x03, 0x04, 0x0F, 0x11, 0x81, 0x87})
READ_SIZE = TS_PACKET * 1024
HEAD_SIZE = TS_PACKET * 2048
LIVE_HEAD_SIZE = TS_PACKET * 64  # the program tables come first; don't wait for a whole GOP
KEYFRAME_SCAN = 8 * 1024 * 1024 // TS_PACKET * TS_PACKET


class TsError(Exception):
    """The bytes are not an MPEG-TS the feed can splice (no sync, no program map, no video)."""


@dataclass(frozen=True)
class TsLayout:
    video_pid: int
    audio_pids: frozenset[int]
    psi: bytes  # PAT, PMT (and SDT) packets from the head, replayed in front of a cut
    video_stream_type: int = 0x1B  # 0x1B H.264, 0x24 HEVC


@dataclass(frozen=True)
class Gop:
    pts: int  # 90 kHz presentation time of the keyframe that opens this group of pictures
    data: bytes


def _payload_start(data: bytes, at: int) -> int:
    control = (data[at + 3] >> 4) & 0x3
    if control == 0x1:
        return 4
    if control == 0x3:
        return 5 + data[at + 4]
    return TS_PACKET  # adaptation field only


def _random_access(data: bytes, at: int) -> bool:
    return bool(data[at + 3] & 0x20) and data[at + 4] > 0 and bool(data[at + 5] & 0x40)


def _timestamp(data: bytes, at: int) -> int:
    return (
        ((data[at] >> 1) & 0x07) << 30
        | data[at + 1] << 22
        | (data[at + 2] >> 1) << 15
        | data[at + 3] << 7
        | data[at + 4] >> 1
    )


def pes_times(data: bytes, at: int = 0) -> tuple[int, int] | None:
    """(pts, dts) of the PES that starts in the packet at `at`, or None."""
    start = at + _payload_start(data, at)
    end = at + TS_PACKET
    if start + 14 > end or data[start] != 0 or data[start + 1] != 0 or data[start + 2] != 1:
        return None
    flags = data[start + 7] >> 6
    if not flags & 0x2:
        return None
    pts = _timestamp(data, start + 9)
    dts = _timestamp(data, start + 14) if flags == 0x3 and start + 19 <= end else pts
    return pts, dts


def ts_delta(later: int, earlier: int) -> int:
    """Signed difference of two 33-bit timestamps, across a wrap."""
    diff = (later - earlier) % PTS_WRAP
    return diff - PTS_WRAP if diff >= PTS_WRAP // 2 else diff


def _sections(data: bytes, pid: int) -> Iterator[bytes]:
    for at in range(0, len(data) - TS_PACKET + 1, TS_PACKET):
        if data[at] != SYNC_BYTE or ((data[at + 1] & 0x1F) << 8 | data[at + 2]) != pid:
            continue
        if not data[at + 1] & 0x40:
            continue
        start = at + _payload_start(data, at)
        if start >= at + TS_PACKET - 4:
            continue
        start += 1 + data[start]  # pointer field
        length = ((data[start + 1] & 0x0F) << 8) | data[start + 2]
        yield data[start : min(start + 3 + length, at + TS_PACKET)]


def parse_layout(head: bytes) -> TsLayout:
    """The video and audio PIDs of the first program, from the PAT and PMT at the head."""
    if len(head) < TS_PACKET or head[0] != SYNC_BYTE:
        raise TsError("not an MPEG transport stream")
    pmt_pid = None
    for section in _sections(head, PAT_PID):
        for at in range(8, len(section) - 4, 4):
            if (section[at] << 8 | section[at + 1]) != 0:  # program 0 is the network PID
                pmt_pid = ((section[at + 2] & 0x1F) << 8) | section[at + 3]
                break
        if pmt_pid is not None:
            break
    if pmt_pid is None:
        raise TsError("no program association table at the head")
    video_pid = None
    video_type = 0x1B
    audio: set[int] = set()
    for section in _sections(head, pmt_pid):
        at = 12 + (((section[10] & 0x0F) << 8) | section[11])
        while at + 5 <= len(section) - 4:
            stream_type = section[at]
            pid = ((section[at + 1] & 0x1F) << 8) | section[at + 2]
            if stream_type in VIDEO_STREAM_TYPES and video_pid is None:
                video_pid, video_type = pid, stream_type
            elif stream_type in AUDIO_STREAM_TYPES:
                audio.add(pid)
            at += 5 + (((section[at + 3] & 0x0F) << 8) | section[at + 4])
        break
    if video_pid is None:
        raise TsError("no video stream in the program map")
    psi = bytearray()
    seen: set[int] = set()
    for at in range(0, len(head) - TS_PACKET + 1, TS_PACKET):
        pid = (head[at + 1] & 0x1F) << 8 | head[at + 2]
        if pid in (PAT_PID, pmt_pid, SDT_PID) and pid not in seen:
            seen.add(pid)
            psi += head[at : at + TS_PACKET]
    return TsLayout(
        video_pid=video_pid, audio_pids=frozenset(audio), psi=bytes(psi), video_stream_type=video_type
    )


def keyframes(data: bytes, video_pid: int, base_offset: int = 0) -> Iterator[tuple[int, int]]:
    """(byte offset, pts) of each keyframe starting in `data`, which begins on a packet boundary."""
    marker = bytes([SYNC_BYTE, 0x40 | (video_pid >> 8), video_pid & 0xFF])
    at = data.find(marker)
    while at != -1 and at + TS_PACKET <= len(data):
        if at % TS_PACKET == 0 and _random_access(data, at):
            times = pes_times(data, at)
            if times is not None:
                yield base_offset + at, times[0]
        at = data.find(marker, at + 1)


def iter_gops(source: BinaryIO, layout: TsLayout) -> Iterator[Gop]:
    """Read TS from `source` (positioned on a packet boundary) and yield it GOP by GOP.

    Everything before the first keyframe is dropped; the first GOP opens with the program tables
    from the file's head, so a decoder can start on it (this is what makes a cut at a keyframe's
    byte offset a valid stream).
    """
    video, audio = layout.video_pid, layout.audio_pids
    keep: dict[int, bool] = {}
    first_key: int | None = None
    current: int | None = None
    out = bytearray(layout.psi)
    pending = b""
    while True:
        chunk = source.read(READ_SIZE)
        if not chunk:
            break
        data = pending + chunk if pending else chunk
        usable = len(data) - len(data) % TS_PACKET
        pending = data[usable:]
        at = 0
        while at < usable:
            if data[at] != SYNC_BYTE:
                raise TsError(f"lost packet sync at byte {at}")
            pid = (data[at + 1] & 0x1F) << 8 | data[at + 2]
            if pid == video:
                if data[at + 1] & 0x40 and (times := pes_times(data, at)) is not None:
                    pts = times[0]
                    is_key = _random_access(data, at)
                    if first_key is None:
                        if is_key:
                            first_key = current = pts
                        keep[pid] = first_key is not None
                    elif is_key:
                        yield Gop(current, bytes(out))
                        out = bytearray()
                        current = pts
                if keep.get(pid):
                    out += data[at : at + TS_PACKET]
            elif pid in audio:
                if data[at + 1] & 0x40 and (times := pes_times(data, at)) is not None:
                    keep[pid] = first_key is not None
                if keep.get(pid):
                    out += data[at : at + TS_PACKET]
            elif pid != NULL_PID and first_key is not None:
                out += data[at : at + TS_PACKET]
            at += TS_PACKET
    if first_key is not None and out:
        yield Gop(current, bytes(out))


@dataclass(frozen=True)
class Cut:
    byte_offset: int
    offset_ms: int  # from the file's first keyframe to the cut's keyframe


def find_cut(path: Path, offset_ms: int) -> Cut:
    """The keyframe of `path` nearest `offset_ms` into it: where a tune-in can start with copy."""
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        head = handle.read(HEAD_SIZE)
        layout = parse_layout(head)
        first = next(keyframes(head, layout.video_pid), None)
        if first is None:
            raise TsError("no keyframe at the head of the file")
        first_pts = first[1]
        target = first_pts + offset_ms * PTS_HZ // 1000

        def scan(start: int, length: int) -> list[tuple[int, int]]:
            handle.seek(start)
            return list(keyframes(handle.read(length), layout.video_pid, start))

        low, high = 0, size - size % TS_PACKET
        while high - low > KEYFRAME_SCAN:
            middle = (low + high) // 2 // TS_PACKET * TS_PACKET
            found = scan(middle, KEYFRAME_SCAN)
            if not found or ts_delta(found[0][1], target) > 0:
                high = middle
            else:
                low = middle
        candidates = [first, *scan(low, high - low + KEYFRAME_SCAN)]
        best = min(candidates, key=lambda found: abs(ts_delta(found[1], target)))
        return Cut(byte_offset=best[0], offset_ms=ts_delta(best[1], first_pts) * 1000 // PTS_HZ)


def trim_gop(data: bytes, first_pts: int, end_seconds: float) -> bytes:
    """Drop the PES packets of this GOP that start at or after `end_seconds` into the entry."""
    end_pts = (first_pts + int(end_seconds * PTS_HZ)) % PTS_WRAP
    out = bytearray()
    keep: dict[int, bool] = {}
    for at in range(0, len(data) - TS_PACKET + 1, TS_PACKET):
        pid = (data[at + 1] & 0x1F) << 8 | data[at + 2]
        if data[at + 1] & 0x40 and (times := pes_times(data, at)) is not None:
            keep[pid] = ts_delta(times[1], end_pts) < 0
        if keep.get(pid, True):
            out += data[at : at + TS_PACKET]
    return bytes(out)


# PES stream ids: video 0xE0–0xEF, audio 0xC0–0xDF (MPEG audio and AAC).
VIDEO_STREAM_IDS = range(0xE0, 0xF0)
AUDIO_STREAM_IDS = range(0xC0, 0xE0)
ADTS_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350)
AAC_FRAME_SAMPLES = 1024


def align_audio_end(data: bytes) -> bytes:
    """The last GOP of an entry with its last audio PES moved later so the audio ends exactly where
    the last video frame ends.

    Why: with no length announced, ffmpeg's concat demuxer starts the next entry where the furthest
    stream of this one ends, and it counts audio packets with their length but the last video
    frame without its own. A piece's AAC audio ends on an AAC frame at or before the video's end
    (see playout.ffmpeg_commands), so the next piece's video started up to a frame early: an
    overlap that ffmpeg reports as "non monotonically increasing dts". With the audio's end on the
    video's, every join lies on the frame grid. The audio keeps every sample; its last PES (a
    fraction of a second) plays up to one AAC frame (21 ms) later, as a gap before it.

    Anything unexpected (no video, audio that is not ADTS AAC, audio already past the video) leaves
    the bytes as they are.
    """
    video_pts: list[int] = []
    last_audio_start: int | None = None
    audio_pid = None
    for at in range(0, len(data) - TS_PACKET + 1, TS_PACKET):
        if data[at] != SYNC_BYTE or not data[at + 1] & 0x40:
            continue
        start = at + _payload_start(data, at)
        if start + 9 > at + TS_PACKET or data[start : start + 3] != b"\x00\x00\x01":
            continue
        stream_id = data[start + 3]
        times = pes_times(data, at)
        if times is None:
            continue
        if stream_id in VIDEO_STREAM_IDS:
            video_pts.append(times[0])
        elif stream_id in AUDIO_STREAM_IDS:
            pid = (data[at + 1] & 0x1F) << 8 | data[at + 2]
            if audio_pid is None or pid == audio_pid:
                audio_pid, last_audio_start = pid, at
    if len(video_pts) < 2 or last_audio_start is None:
        return data
    first_video = video_pts[0]
    last_video = max(video_pts, key=lambda pts: ts_delta(pts, first_video))
    frame = -(-ts_delta(last_video, first_video) // (len(video_pts) - 1))  # ceiling: never overlap
    video_end = last_video + frame
    audio = _last_pes_payload(data, last_audio_start, audio_pid)
    counted = _adts_frames(audio)
    if counted is None:
        return data
    frames, rate = counted
    pts, _dts = pes_times(data, last_audio_start)
    audio_end = pts + -(-frames * AAC_FRAME_SAMPLES * PTS_HZ // rate)
    shift = ts_delta(video_end, audio_end)
    if not 0 < shift <= -(-AAC_FRAME_SAMPLES * PTS_HZ // rate):
        return data
    out = bytearray(data)
    header = last_audio_start + _payload_start(data, last_audio_start)
    flags = out[header + 7] >> 6
    _write_timestamp(out, header + 9, (pts + shift) % PTS_WRAP)
    if flags == 0x3:
        _write_timestamp(out, header + 14, (_timestamp(out, header + 14) + shift) % PTS_WRAP)
    return bytes(out)


def _last_pes_payload(data: bytes, at: int, pid: int) -> bytes:
    """The elementary stream bytes of the PES that starts in the packet at `at`, to the data's end."""
    payload = bytearray()
    for packet in range(at, len(data) - TS_PACKET + 1, TS_PACKET):
        if ((data[packet + 1] & 0x1F) << 8 | data[packet + 2]) != pid:
            continue
        payload += data[packet + _payload_start(data, packet) : packet + TS_PACKET]
    if len(payload) < 9:
        return b""
    return bytes(payload[9 + payload[8] :])


def _adts_frames(stream: bytes) -> tuple[int, int] | None:
    """(frames, sample rate) of a run of ADTS AAC frames, None if it is anything else."""
    frames, at, rate = 0, 0, None
    while at + 7 <= len(stream):
        if stream[at] != 0xFF or stream[at + 1] & 0xF0 != 0xF0:
            return None
        index = (stream[at + 2] >> 2) & 0x0F
        if index >= len(ADTS_RATES):
            return None
        rate = ADTS_RATES[index]
        length = (stream[at + 3] & 0x03) << 11 | stream[at + 4] << 3 | stream[at + 5] >> 5
        if length < 7:
            return None
        frames += 1 + (stream[at + 6] & 0x03)  # raw data blocks in this frame
        at += length
    return (frames, rate) if frames and rate else None


def _write_timestamp(data: bytearray, at: int, value: int) -> None:
    """Write a 33-bit PTS/DTS into its five bytes, keeping the prefix nibble and marker bits."""
    data[at] = (data[at] & 0xF0) | ((value >> 29) & 0x0E) | 0x01
    data[at + 1] = (value >> 22) & 0xFF
    data[at + 2] = ((value >> 14) & 0xFE) | 0x01
    data[at + 3] = (value >> 7) & 0xFF
    data[at + 4] = ((value << 1) & 0xFE) | 0x01


class Prepended:
    """A pipe with the bytes already read from it put back in front."""

    def __init__(self, head: bytes, rest: BinaryIO):
        self.head = head
        self.rest = rest

    def read(self, size: int) -> bytes:
        if self.head:
            data, self.head = self.head, b""
            return data
        return self.rest.read1(size)  # what the pipe has now: don't wait for a full buffer


def read_exactly(source: BinaryIO, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = source.read(size - len(data))
        if not chunk:
            break
        data += chunk
    return bytes(data)
