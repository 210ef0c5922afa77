"""The codec parameter sets a segment opens with, so a channel's playlist can signal where they change.

A channel airs pieces that were made different ways: encoded with the profile's frozen settings,
smart-copied from sources that were encoded elsewhere (with their own SPS/PPS), passed through at
the source's own size. Decoders switch parameter sets at any IDR, but players keep one per
discontinuity domain (hls.js keeps the first SPS and rebuilds its init segment only for a new size;
Apple requires EXT-X-DISCONTINUITY for any change of encoding parameters, draft-pantos-hls-rfc8216bis
§6.2.1). Every segment starts on an IDR that carries its parameter sets in-band, so comparing them
segment by segment finds every change, whichever piece or part of a piece it comes from.
"""

from __future__ import annotations

from playout.mpegts import SYNC_BYTE, TS_PACKET, TsError, _payload_start, parse_layout

HEVC_STREAM_TYPE = 0x24
# NAL unit types of the parameter sets, and the first type that is picture data.
H264_PARAMETER_SETS = frozenset({7, 8})  # SPS, PPS
HEVC_PARAMETER_SETS = frozenset({32, 33, 34})  # VPS, SPS, PPS
# Enough of a segment's head for its program tables and the start of its first video PES.
HEAD_BYTES = TS_PACKET * 128
VIDEO_PACKETS = 8


def segment_parameter_sets(head: bytes) -> bytes | None:
    """The parameter-set NAL units in front of the first picture of a segment (the bytes of its
    head), joined; None if the head has none (then nothing can be said about a change)."""
    try:
        layout = parse_layout(head)
    except TsError:
        return None
    payload = bytearray()
    packets = 0
    for at in range(0, len(head) - TS_PACKET + 1, TS_PACKET):
        if head[at] != SYNC_BYTE or ((head[at + 1] & 0x1F) << 8 | head[at + 2]) != layout.video_pid:
            continue
        starts_pes = bool(head[at + 1] & 0x40)
        if starts_pes and packets:
            break  # the next picture
        if starts_pes or packets:
            payload += head[at + _payload_start(head, at) : at + TS_PACKET]
            packets += 1
            if packets >= VIDEO_PACKETS:
                break
    if len(payload) < 9:
        return None
    header_end = 9 + payload[8]  # PES header: fixed 9 bytes plus its optional fields
    hevc = layout.video_stream_type == HEVC_STREAM_TYPE
    found = [unit for unit in _nal_units(bytes(payload[header_end:])) if _is_parameter_set(unit, hevc)]
    return b"".join(found) or None


def _nal_units(stream: bytes) -> list[bytes]:
    """NAL units of an Annex B byte stream, without start codes or trailing zero bytes."""
    units = []
    at = stream.find(b"\x00\x00\x01")
    while at != -1:
        start = at + 3
        following = stream.find(b"\x00\x00\x01", start)
        end = len(stream) if following == -1 else following
        units.append(stream[start:end].rstrip(b"\x00"))
        at = following
    return units


def _is_parameter_set(unit: bytes, hevc: bool) -> bool:
    if not unit:
        return False
    if hevc:
        return (unit[0] >> 1) & 0x3F in HEVC_PARAMETER_SETS
    return unit[0] & 0x1F in H264_PARAMETER_SETS
