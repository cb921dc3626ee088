"""A hostile HTTP/2 client for the gRPC attack tests: raw frames on one socket, a thread reading the answers.

Frames are built by hand (:func:`mlready.runtime.grpc_wire.frame`) so a test can send what no well-behaved
library would; header blocks come from one ``hpack.Encoder`` per connection, kept in step with the server's
decoder. The reader thread drains the socket (the attacker reads every answer, so the server is never
throttled by a full send buffer) and records a GOAWAY's error code and the streams the server reset.
"""

from __future__ import annotations

import socket
import struct
import threading
import time

import hpack
from mlready.runtime.grpc_wire import (
    DATA,
    END_HEADERS,
    END_STREAM,
    GOAWAY,
    HEADERS,
    PREFACE,
    RST_STREAM,
    SETTINGS,
    frame,
)

CANCEL, ENHANCE_YOUR_CALM = 0x8, 0xB
MODEL_INFER = b"/inference.GRPCInferenceService/ModelInfer"


class RawH2:
    """One connection. ``send`` returns False once the server closed it."""

    def __init__(self, port: int, preface: bool = True):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.encoder = hpack.Encoder()
        self.next_sid = 1
        self.goaway: int | None = None  # the error code of the server's GOAWAY
        self.resets: dict[int, int] = {}  # stream id -> error code of the server's RST_STREAM
        self.headers_seen = 0  # HEADERS frames from the server (one per answered call, trailers-only or not)
        self.status: dict[int, tuple[int, str]] = {}  # stream id -> (grpc-status, grpc-message) of its trailers
        self._decoder = hpack.Decoder()
        self.received = 0
        self.closed = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if preface:
            self.send(PREFACE + frame(SETTINGS, 0, 0))

    def send(self, data: bytes) -> bool:
        if self.closed.is_set():
            return False
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            self.closed.set()
            return False

    def headers_block(self, path: bytes = MODEL_INFER, extra: tuple = ()) -> bytes:
        return self.encoder.encode([(b":method", b"POST"), (b":scheme", b"http"), (b":path", path),
                                    (b":authority", b"attack"), (b"content-type", b"application/grpc"),
                                    (b"te", b"trailers"), *extra])

    def call(self, message: bytes, reset: bool = False, path: bytes = MODEL_INFER) -> bytes:
        """The frames of one unary call (HEADERS, DATA with END_STREAM), optionally RST_STREAM(CANCEL) at once."""
        sid, self.next_sid = self.next_sid, self.next_sid + 2
        out = (frame(HEADERS, END_HEADERS, sid, self.headers_block(path))
               + frame(DATA, END_STREAM, sid, b"\0" + struct.pack(">I", len(message)) + message))
        if reset:
            out += frame(RST_STREAM, 0, sid, struct.pack(">I", CANCEL))
        return out

    def open_stream(self, path: bytes = MODEL_INFER) -> int:
        """Send HEADERS only (the call's message never comes); returns the stream id."""
        sid, self.next_sid = self.next_sid, self.next_sid + 2
        self.send(frame(HEADERS, END_HEADERS, sid, self.headers_block(path)))
        return sid

    def flood(self, chunk: bytes | None, seconds: float, make=None) -> int:
        """Send ``chunk`` (or ``make()``'s result) again and again for ``seconds`` or until the server closes
        the connection; returns how many times it went out."""
        n, deadline = 0, time.monotonic() + seconds
        while time.monotonic() < deadline and self.send(chunk if make is None else make()):
            n += 1
        return n

    def wait_closed(self, timeout: float) -> bool:
        return self.closed.wait(timeout)

    def close(self) -> None:
        self.closed.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def __enter__(self) -> RawH2:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(self) -> None:
        buf = bytearray()
        try:
            while True:
                data = self.sock.recv(1 << 16)
                if not data:
                    break
                self.received += len(data)
                buf += data
                pos = 0
                while len(buf) - pos >= 9:
                    length = int.from_bytes(buf[pos:pos + 3], "big")
                    if len(buf) - pos - 9 < length:
                        break
                    kind, sid = buf[pos + 3], int.from_bytes(buf[pos + 5:pos + 9], "big") & 0x7FFFFFFF
                    payload = bytes(buf[pos + 9:pos + 9 + length])
                    if kind == GOAWAY:
                        self.goaway = int.from_bytes(payload[4:8], "big")
                    elif kind == RST_STREAM:
                        self.resets[sid] = int.from_bytes(payload[:4], "big")
                    elif kind == HEADERS:  # the server's blocks are small, unpadded and complete
                        self.headers_seen += 1
                        fields = dict(self._decoder.decode(payload))
                        if "grpc-status" in fields:
                            self.status[sid] = (int(fields["grpc-status"]), fields.get("grpc-message", ""))
                    pos += 9 + length
                del buf[:pos]
        except OSError:
            pass
        self.closed.set()


def until(condition, timeout: float) -> bool:
    """Poll ``condition`` every 10 ms for up to ``timeout`` seconds; its last value."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return bool(condition())
