"""The wire of gRPC over HTTP/2: frame types, flags, error codes and settings (RFC 9113), gRPC status codes,
and the constant header blocks the transport answers with. Used by :mod:`mlready.runtime.grpc_transport`."""

from __future__ import annotations

import enum
import struct
from collections.abc import Awaitable, Callable
from typing import Any

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM = ACK = 0x1
END_HEADERS, PADDED, PRIORITY_FLAG = 0x4, 0x8, 0x20
NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR = 0x0, 0x1, 0x2, 0x3
STREAM_CLOSED, FRAME_SIZE_ERROR, REFUSED_STREAM, CANCEL, COMPRESSION_ERROR = 0x5, 0x6, 0x7, 0x8, 0x9
ENHANCE_YOUR_CALM = 0xB
HEADER_TABLE_SIZE, MAX_CONCURRENT_STREAMS, INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE, MAX_HEADER_LIST_SIZE = 1, 3, 4, 5, 6

MAX_STREAMS = 256  # concurrent calls per connection (SETTINGS_MAX_CONCURRENT_STREAMS)
STREAM_WINDOW = 1 << 20  # what a client may send on one stream before we acknowledge it
MAX_HEADER_BYTES = 16 * 1024
MAX_WINDOW = (1 << 31) - 1

# Flood budgets per connection (token buckets: a burst, refilled at a rate). Exceeding one answers
# GOAWAY(ENHANCE_YOUR_CALM) and closes the connection. "Free" frames are those that make the server work without
# moving a call forward: PING, SETTINGS, PRIORITY, WINDOW_UPDATE, unknown types, and empty DATA / HEADERS /
# CONTINUATION frames that end nothing (CVE-2019-9512, -9515, -9518, CVE-2024-27316). Each dispatched call earns
# FREE_PER_CALL back, so a busy honest client (grpcio sends a BDP PING and WINDOW_UPDATEs as answers arrive)
# never runs dry. Resets count RST_STREAM from the client on a live stream and every stream the server refuses or
# resets because of the client (CVE-2023-44487 rapid reset, CVE-2025-8671); nghttp2's defaults: 1000, 33/s.
FREE_BURST, FREE_PER_SECOND, FREE_PER_CALL = 1000, 100, 4
RESET_BURST, RESETS_PER_SECOND = 1000, 33
MAX_SETTINGS = 32  # entries in one SETTINGS frame (nghttp2's default)
TURN_FRAMES = 256  # frames parsed per event-loop turn before yielding to other connections
FRAME_HEADER = struct.Struct(">IBI")  # (length << 8 | type, flags, stream id)
U32 = struct.Struct(">I")
SETTING = struct.Struct(">HI")


class Status(enum.IntEnum):
    """gRPC status codes (grpc/doc/statuscodes.md)."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


class GrpcError(Exception):
    """Raised by a handler: ends the call with this status and message."""

    def __init__(self, status: Status, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class Call:
    """What a handler sees of its call besides the request message: the request headers (metadata), and the
    trailing metadata it adds to the answer (``trailing``: lower-case ASCII names and values)."""

    __slots__ = ("metadata", "trailing")

    def __init__(self, metadata: dict[str, str]):
        self.metadata = metadata
        self.trailing: list[tuple[bytes, bytes]] = []


Handler = Callable[[Any, Call], Awaitable[Any]]
# path -> (request parser, handler); the handler returns a message with SerializeToString()
Routes = dict[str, tuple[Callable[[bytes], Any], Handler]]


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return FRAME_HEADER.pack(len(payload) << 8 | kind, flags, stream) + payload


def _hpack_int(n: int) -> bytes:
    """An HPACK integer with a 7-bit prefix and the first byte's high bit clear (RFC 7541 §5.1: no Huffman)."""
    if n < 0x7F:
        return bytes((n,))
    out, n = bytearray((0x7F,)), n - 0x7F
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def literal(name: bytes, value: bytes) -> bytes:
    """One header as a literal never indexed, with a literal name and no Huffman coding (RFC 7541 §6.2.3): it
    never touches the HPACK dynamic table, so the bytes are valid on any connection, and building it is a few
    concatenations (hpack's encoder Huffman-codes byte by byte in Python: ~30 µs for one request id)."""
    return b"\x10" + _hpack_int(len(name)) + name + _hpack_int(len(value)) + value


def static_block(headers: list[tuple[bytes, bytes]]) -> bytes:
    """A header block that never touches the HPACK dynamic table (see :func:`literal`)."""
    return b"".join([literal(n, v) for n, v in headers])


RESPONSE_HEADERS = static_block([(b":status", b"200"), (b"content-type", b"application/grpc")])
OK_TRAILERS = static_block([(b"grpc-status", b"0")])
MESSAGE_SAFE = frozenset(range(0x20, 0x7F)) - {ord("%")}


def percent_encode(text: str) -> bytes:
    """grpc-message encoding: UTF-8, percent-encoding every byte outside printable ASCII and '%'."""
    return b"".join(bytes([b]) if b in MESSAGE_SAFE else b"%%%02X" % b for b in text.encode()[:1024])


def trailers(status: Status, message: str, trailers_only: bool,
             extra: list[tuple[bytes, bytes]] | tuple = ()) -> bytes:
    head = [(b":status", b"200"), (b"content-type", b"application/grpc")] if trailers_only else []
    return static_block([*head, (b"grpc-status", b"%d" % status), (b"grpc-message", percent_encode(message)),
                         *extra])


def ok_trailers(extra: list[tuple[bytes, bytes]]) -> bytes:
    return OK_TRAILERS + static_block(extra) if extra else OK_TRAILERS
