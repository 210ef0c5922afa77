"""The server side of RFC 6455, as much as Plex's notification socket needs: standard library only.

A ``WebSocketConnection`` takes over a socket after the HTTP handler has answered the upgrade
(``101 Switching Protocols``). Frames the server sends are unmasked; frames a client sends are
masked (the RFC requires both). A reader thread answers pings, notes pongs and echoes a close;
the handler thread writes queued text frames and a ping every ``ping_interval`` seconds.
``abort()`` drops the connection without a close frame (RST by default), the way a crashing or
restarting server looks to a client.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import queue
import socket
import struct
import threading
from typing import BinaryIO

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
MAX_CLIENT_FRAME = 1 << 20  # clients send pings and closes; anything bigger is hostile


def accept_key(client_key: str) -> str:
    """``Sec-WebSocket-Accept`` for a ``Sec-WebSocket-Key`` (RFC 6455 §4.2.2)."""
    digest = hashlib.sha1((client_key.strip() + GUID).encode("ascii")).digest()  # noqa: S324 (the RFC says SHA-1)
    return base64.b64encode(digest).decode("ascii")


def encode_frame(opcode: int, payload: bytes = b"", *, mask: bytes | None = None) -> bytes:
    """One final frame; ``mask`` is for tests that play the client."""
    head = bytes([0x80 | opcode])
    mask_bit = 0x80 if mask is not None else 0
    length = len(payload)
    if length < 126:
        head += bytes([mask_bit | length])
    elif length < 1 << 16:
        head += bytes([mask_bit | 126]) + struct.pack(">H", length)
    else:
        head += bytes([mask_bit | 127]) + struct.pack(">Q", length)
    if mask is None:
        return head + payload
    return head + mask + bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))


def _read_exactly(stream: BinaryIO, count: int) -> bytes | None:
    data = b""
    while len(data) < count:
        chunk = stream.read(count - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def read_frame(stream: BinaryIO) -> tuple[int, bytes] | None:
    """(opcode, unmasked payload) of the next frame, or None when the peer is gone."""
    head = _read_exactly(stream, 2)
    if head is None:
        return None
    opcode, masked, length = head[0] & 0x0F, head[1] & 0x80, head[1] & 0x7F
    if length == 126:
        extended = _read_exactly(stream, 2)
        if extended is None:
            return None
        length = struct.unpack(">H", extended)[0]
    elif length == 127:
        extended = _read_exactly(stream, 8)
        if extended is None:
            return None
        length = struct.unpack(">Q", extended)[0]
    if length > MAX_CLIENT_FRAME:
        return None
    mask = _read_exactly(stream, 4) if masked else b""
    payload = _read_exactly(stream, length) if length else b""
    if mask is None or payload is None:
        return None
    if masked:
        payload = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
    return opcode, payload


class WebSocketConnection:
    """One upgraded connection: a queue of text frames to send, and the knobs to drop it."""

    def __init__(self, sock: socket.socket, reader: BinaryIO, *, ping_interval: float = 10.0) -> None:
        self.socket = sock
        self.reader = reader
        self.ping_interval = ping_interval
        self.outbox: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.closed = threading.Event()
        self.frames_sent = 0
        self.pongs_received = 0
        self.pings_answered = 0
        self.kill_after: int | None = None  # drop after this many more frames
        self.kill_mode = "reset"
        self._send_lock = threading.Lock()

    # -- sending --------------------------------------------------------------------------------

    def send_raw(self, frame: bytes) -> bool:
        with self._send_lock:
            if self.closed.is_set():
                return False
            try:
                self.socket.sendall(frame)
            except OSError:
                self.closed.set()
                return False
            return True

    def send_text(self, text: str) -> bool:
        sent = self.send_raw(encode_frame(OP_TEXT, text.encode("utf-8")))
        if sent:
            self.frames_sent += 1
            if self.kill_after is not None:
                self.kill_after -= 1
                if self.kill_after <= 0:
                    self.abort(self.kill_mode)
        return sent

    def abort(self, mode: str = "reset") -> None:
        """Drop the connection: ``reset`` (RST, no close frame) or ``close`` (close frame 1001, then FIN)."""
        if mode == "close":
            self.send_raw(encode_frame(OP_CLOSE, struct.pack(">H", 1001) + b"going away"))
        with self._send_lock:
            self.closed.set()
            with contextlib.suppress(OSError):
                self.socket.shutdown(socket.SHUT_RD)  # wakes the reader thread without telling the peer
            if mode == "reset":
                with contextlib.suppress(OSError):
                    self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                with contextlib.suppress(OSError):
                    self.socket.close()
            else:
                with contextlib.suppress(OSError):
                    self.socket.shutdown(socket.SHUT_WR)

    # -- the two loops --------------------------------------------------------------------------

    def read_loop(self) -> None:
        """Reader thread: answer pings, count pongs, echo a close; ends when the peer goes away."""
        while not self.closed.is_set():
            try:
                frame = read_frame(self.reader)
            except (OSError, ValueError):
                frame = None
            if frame is None:
                break
            opcode, payload = frame
            if opcode == OP_PING:
                self.send_raw(encode_frame(OP_PONG, payload[:125]))
                self.pings_answered += 1
            elif opcode == OP_PONG:
                self.pongs_received += 1
            elif opcode == OP_CLOSE:
                self.send_raw(encode_frame(OP_CLOSE, payload[:2]))
                break
            # Text and binary frames from a client mean nothing to Plex's notification socket.
        self.closed.set()

    def write_loop(self, stopping: threading.Event) -> None:
        """Handler thread: send queued frames and periodic pings until closed or the server stops."""
        waited = 0.0
        while not self.closed.is_set() and not stopping.is_set():
            try:
                text = self.outbox.get(timeout=0.05)
            except queue.Empty:
                waited += 0.05
                if self.ping_interval and waited >= self.ping_interval:
                    waited = 0.0
                    self.send_raw(encode_frame(OP_PING, b"plex"))
                continue
            self.send_text(text)
        if stopping.is_set() and not self.closed.is_set():
            self.abort("close")
