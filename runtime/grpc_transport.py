"""gRPC over HTTP/2 (RFC 9113), server side, for unary calls: what the Open Inference Protocol needs.

Why not grpcio's server: on this kind of machine its Python layer costs ~350 us of CPU per call, four times
mlready's whole REST path, so gRPC was the slow protocol. This transport is an asyncio protocol that frames
HTTP/2 itself (the framing is a fixed 9-byte header and a handful of frame types) and leaves HPACK, the only
subtle part, to the ``hpack`` library. Decoded header blocks are memoised while the HPACK table is unchanged,
and the response headers are constant byte strings that never touch the dynamic table.

Scope: unary RPCs (one request message, one response message), identity/gzip/deflate request compression,
flow control both ways, PING, SETTINGS, RST_STREAM, graceful GOAWAY. Server streaming, TLS and server push
are out of scope; TLS terminates at the ingress or mesh. Constants and header blocks: :mod:`grpc_wire`.

Hostile clients (the limits nghttp2, Go and hyper apply): a reset call is cancelled (before it starts, when its
RST_STREAM arrives in the same read) and counts against the stream limit until its work has ended; frames that
cost nothing to send and resets draw on per-connection budgets (``grpc_wire``) whose exhaustion answers
GOAWAY(ENHANCE_YOUR_CALM); a large read is parsed a slice at a time so other connections get their turn; the
preface and header blocks, request messages and idle connections have timeouts, connections are capped, and
partial request messages across all connections share one byte budget (:class:`GrpcLimitsConfig`).
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from typing import Any

import hpack
from mlready.runtime.config import GrpcLimitsConfig
from mlready.runtime.grpc_wire import (
    ACK,
    COMPRESSION_ERROR,
    CONTINUATION,
    DATA,
    END_HEADERS,
    END_STREAM,
    ENHANCE_YOUR_CALM,
    FLOW_CONTROL_ERROR,
    FRAME_HEADER,
    FRAME_SIZE_ERROR,
    FREE_BURST,
    FREE_PER_CALL,
    FREE_PER_SECOND,
    GOAWAY,
    HEADERS,
    INITIAL_WINDOW_SIZE,
    INTERNAL_ERROR,
    MAX_CONCURRENT_STREAMS,
    MAX_FRAME_SIZE,
    MAX_HEADER_BYTES,
    MAX_HEADER_LIST_SIZE,
    MAX_SETTINGS,
    MAX_STREAMS,
    MAX_WINDOW,
    NO_ERROR,
    OK_TRAILERS,
    PADDED,
    PING,
    PREFACE,
    PRIORITY,
    PRIORITY_FLAG,
    PROTOCOL_ERROR,
    PUSH_PROMISE,
    REFUSED_STREAM,
    RESET_BURST,
    RESETS_PER_SECOND,
    RESPONSE_HEADERS,
    RST_STREAM,
    SETTING,
    SETTINGS,
    STREAM_CLOSED,
    STREAM_WINDOW,
    TURN_FRAMES,
    U32,
    WINDOW_UPDATE,
    Call,
    GrpcError,
    Routes,
    Status,
    frame,
    ok_trailers,
    trailers,
)

__all__ = ["Call", "GrpcConnection", "GrpcError", "GrpcServer", "Routes", "Status"]

log = logging.getLogger("mlready.runtime.grpc")
_CONTROL = frozenset({PRIORITY, SETTINGS, PING, WINDOW_UPDATE})  # frames that draw on the free-frame budget


class _Budget:
    """A token bucket: ``burst`` tokens, refilled at ``rate`` per second; ``spend`` is False once empty."""

    __slots__ = ("tokens", "burst", "rate", "stamp")

    def __init__(self, burst: int, rate: float):
        self.tokens, self.burst, self.rate, self.stamp = float(burst), burst, rate, time.monotonic()

    def spend(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def earn(self, n: int) -> None:
        self.tokens = min(self.burst, self.tokens + n)


class _Stream:
    __slots__ = ("id", "headers", "block", "body", "closed_remote", "send_window", "reset", "pending", "unacked",
                 "task", "started", "declared")

    def __init__(self, stream_id: int, send_window: int):
        self.id = stream_id
        self.started = 0.0  # for the message timeout: the server's clock (ticks with the sweeper)
        self.task: asyncio.Task | None = None  # the call, once dispatched
        self.declared = -1  # the message size its 5-byte prefix declares, once known
        self.headers: dict[str, str] | None = None
        self.block = bytearray()  # HEADERS + CONTINUATION fragments until END_HEADERS
        self.body = bytearray()
        self.closed_remote = False
        self.send_window = send_window
        self.reset = False
        self.pending: list[Any] | None = None  # [memoryview of DATA still to send, trailer block]
        self.unacked = 0  # DATA bytes received since our last WINDOW_UPDATE for this stream


LINGER_SECONDS = 1.0  # after a GOAWAY that ends a connection, input is drained this long before closing
MAX_REFUSING = 64  # connections refused over the limit that linger at once; more are closed at once
INFLATE_ON_LOOP = 64 * 1024  # a compressed message inflating to more is inflated on a thread ...
INFLATE_STEP = 1 << 20  # ... a step at a time, each step's bytes taken from the budget before it runs
MIN_PROGRESS = 16 * 1024  # answer bytes that must go for unsent answers to count as moving (message_timeout_s)
BUSY = "the server holds too many request bytes (its gRPC byte budget); retry"
_CLIENT_SLOW, _YIELD = 1, 2  # why reading is paused: the client is not reading answers; parsing yields a turn


class _ConnectionError(Exception):
    def __init__(self, code: int, reason: str):
        super().__init__(reason)
        self.code = code


class GrpcConnection(asyncio.Protocol):
    """One client connection. Frames are parsed in ``data_received``; each complete call runs as a task."""

    def __init__(self, server: GrpcServer):
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.preface = False
        self.streams: dict[int, _Stream] = {}
        self.last_stream = 0
        self.expect_continuation = 0  # stream id whose header block is incomplete
        self.decoder = hpack.Decoder()
        self.decoder.max_header_list_size = MAX_HEADER_BYTES
        self.header_cache: dict[bytes, tuple[Any, int, dict[str, str]]] = {}
        self.peer_window = 65535  # peer's SETTINGS_INITIAL_WINDOW_SIZE: our send window on a new stream
        self.peer_frame = 16384
        self.conn_send = 65535
        self.conn_recv = server.connection_window
        self.released = 0  # received bytes freed since our last connection WINDOW_UPDATE
        self.tasks: set[asyncio.Task] = set()
        self.going_away = False
        self.blocked: list[int] = []  # streams waiting for send window, in order
        self.free = _Budget(FREE_BURST, FREE_PER_SECOND)  # frames that move no call forward
        self.resets = _Budget(RESET_BURST, RESETS_PER_SECOND)  # streams reset by the client or for its faults
        self.cancelled: set[asyncio.Task] = set()  # reset calls whose work has not ended: they count as streams
        self.read_paused = 0  # _CLIENT_SLOW | _YIELD
        self.opened = self.idle_since = time.monotonic()
        self.header_started = 0.0  # when the header block we are waiting CONTINUATION frames for began
        self.progress = self.seen_progress = 0  # calls dispatched + answers sent on; what the idle check saw
        self.lingering = False  # closing after a GOAWAY: input is dropped
        self.partial_since = 0.0  # when an unfinished frame began waiting in the buffer (0: none)
        self.held: dict[asyncio.Task, int] = {}  # per call: request bytes held against the server's budget
        self.unsent = 0  # answer bytes waiting for the client's flow-control window
        self.unsent_since = 0.0  # when that last moved (the server's clock): answers the client never reads
        self.moved = 0  # answer bytes sent since unsent_since
        self.write_buffered = 0  # the transport's write buffer at the last timeout check

    # -- connection --------------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        limit = self.server.limits.max_connections
        if len(self.server.connections) >= limit:
            log.warning("gRPC connection refused: connection limit reached", extra={"limit": limit})
            self.transport.write(frame(SETTINGS, 0, 0) + frame(GOAWAY, 0, 0, U32.pack(0) + U32.pack(NO_ERROR)
                                                               + b"too many connections"))
            self.lingering = True  # its input is dropped; not counted among the connections
            if self.server.refusing >= MAX_REFUSING:  # a connection flood: no socket is kept for the GOAWAY
                self.transport.close()
                return
            self.server.refusing += 1
            asyncio.get_running_loop().call_later(LINGER_SECONDS, self._refused)
            return
        self.server.connections.add(self)

    def _refused(self) -> None:
        self.server.refusing -= 1
        self.transport.close()

    def _server_preface(self) -> None:
        """Sent once the client's preface is in, so an HTTP/1.1 client gets a plain answer instead."""
        settings = b"".join(SETTING.pack(k, v) for k, v in (
            (MAX_CONCURRENT_STREAMS, MAX_STREAMS), (INITIAL_WINDOW_SIZE, STREAM_WINDOW),
            (MAX_HEADER_LIST_SIZE, MAX_HEADER_BYTES)))
        self.transport.write(frame(SETTINGS, 0, 0, settings)
                             + frame(WINDOW_UPDATE, 0, 0, U32.pack(self.conn_recv - 65535)))

    def pause_writing(self) -> None:
        """The client is not reading our answers: stop reading its requests until it catches up."""
        self._pause(_CLIENT_SLOW)

    def resume_writing(self) -> None:
        self._resume(_CLIENT_SLOW)

    def _pause(self, why: int) -> None:
        if not self.read_paused:
            self.transport.pause_reading()
        self.read_paused |= why

    def _resume(self, why: int) -> None:
        self.read_paused &= ~why
        if not self.read_paused and not self.transport.is_closing():
            self.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        for stream in self.streams.values():
            stream.reset = True
            self.server.buffered -= len(stream.body)
        self._drop_unsent()
        self.streams.clear()
        for task in self.tasks:  # nobody is left to answer
            task.cancel()

    def data_received(self, data: bytes) -> None:
        if self.lingering:
            return
        self.buf += data
        if not self.read_paused & _YIELD:  # else the next turn parses it
            self._parse()

    def _next_turn(self) -> None:
        self.read_paused &= ~_YIELD
        if self.lingering or self.transport.is_closing():
            return
        self._parse()
        if not self.read_paused:
            self.transport.resume_reading()

    def _parse(self) -> None:
        """Handle the complete frames in the buffer, at most TURN_FRAMES of them before yielding the loop."""
        buf = self.buf
        try:
            if not self.preface:
                if len(buf) < len(PREFACE):
                    if not PREFACE.startswith(bytes(buf)):
                        self._not_http2()
                    return
                if not buf.startswith(PREFACE):
                    self._not_http2()
                    return
                del buf[:len(PREFACE)]
                self.preface = True
                self._server_preface()
            pos, end, count = 0, len(buf), 0
            while end - pos >= 9 and not self.lingering and not self.transport.is_closing():
                if count == TURN_FRAMES:  # let other connections (and the health checks) have a turn
                    self._pause(_YIELD)
                    asyncio.get_running_loop().call_soon(self._next_turn)
                    break
                count += 1
                head, flags, stream = FRAME_HEADER.unpack_from(buf, pos)
                length, kind = head >> 8, head & 0xFF
                if length > 16384:
                    raise _ConnectionError(FRAME_SIZE_ERROR, f"frame of {length} bytes")
                if end - pos - 9 < length:
                    break
                payload = bytes(buf[pos + 9:pos + 9 + length])
                pos += 9 + length
                self.frame(kind, flags, stream & 0x7FFFFFFF, payload)
            del buf[:pos]
            if not buf:
                self.partial_since = 0.0
            elif count or not self.partial_since:  # an unfinished frame waits; since when, with no frame done
                self.partial_since = self.server.now
        except _ConnectionError as exc:
            log.info("gRPC connection closed: protocol error", extra={"reason": str(exc), "code": exc.code})
            self._close(exc.code, str(exc))
        except Exception:
            log.exception("gRPC connection closed: internal error")
            self._close(INTERNAL_ERROR, "internal error")

    def _close(self, code: int, reason: str) -> None:
        """GOAWAY, cancel the calls, then close after a moment. Meanwhile what the client still sends is read and
        dropped: closing with unread input makes the kernel answer with a RST that can destroy the GOAWAY before
        the client has read it, and the client would never learn why."""
        self._goaway(code, reason)
        if self.lingering or self.transport.is_closing():
            return
        self.lingering = True
        self.buf.clear()
        self._drop_unsent()  # nothing more is sent on a connection that goes away
        for stream in self.streams.values():  # partial messages: the budget gets them back now, not at the close
            self.server.buffered -= len(stream.body)
            stream.body = bytearray()
        for task in self.tasks:
            task.cancel()
        if self.read_paused:
            self.read_paused = 0
            self.transport.resume_reading()
        asyncio.get_running_loop().call_later(LINGER_SECONDS, self._end)

    def _end(self) -> None:
        """The linger is over: close, or abort when the client does not even read its socket (a close would wait
        for the write buffer to drain, forever)."""
        if self.transport.get_write_buffer_size():
            self.transport.abort()
        else:
            self.transport.close()

    def _not_http2(self) -> None:
        body = b"this port speaks gRPC (HTTP/2 with prior knowledge)\n"
        self.transport.write(b"HTTP/1.1 505 HTTP Version Not Supported\r\nContent-Type: text/plain\r\n"
                             b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        self.transport.close()
        self.buf.clear()

    def _goaway(self, code: int = NO_ERROR, reason: str = "") -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame(GOAWAY, 0, 0, U32.pack(self.last_stream) + U32.pack(code)
                                        + reason.encode()[:256]))

    # -- frames --------------------------------------------------------------------------------------------
    def _spend_free(self) -> None:
        if not self.free.spend():
            raise _ConnectionError(ENHANCE_YOUR_CALM, "too many control, empty or unknown frames")

    def _spend_reset(self) -> None:
        if not self.resets.spend():
            raise _ConnectionError(ENHANCE_YOUR_CALM, "too many stream resets")

    def _reset(self, sid: int, code: int) -> None:
        """Reset a stream because of what the client did: counted against its reset budget."""
        self._spend_reset()
        self.transport.write(frame(RST_STREAM, 0, sid, U32.pack(code)))

    def frame(self, kind: int, flags: int, sid: int, payload: bytes) -> None:
        if self.expect_continuation and (kind != CONTINUATION or sid != self.expect_continuation):
            raise _ConnectionError(PROTOCOL_ERROR, "expected a CONTINUATION frame")
        if kind == DATA:  # the two frames of every call first, with the fewest checks
            self._data(flags, sid, payload)
            return
        if kind == HEADERS:
            if not payload and not flags & END_HEADERS:  # an empty fragment of a header block
                self._spend_free()
            self._headers(flags, sid, payload)
            return
        if kind > CONTINUATION or kind in _CONTROL or not (payload or flags & END_HEADERS):
            self._spend_free()  # control, unknown, or an empty CONTINUATION that ends nothing
        if kind == CONTINUATION:
            stream = self.streams.get(sid)
            if not self.expect_continuation or stream is None:
                raise _ConnectionError(PROTOCOL_ERROR, "unexpected CONTINUATION frame")
            stream.block += payload
            if len(stream.block) > MAX_HEADER_BYTES:
                raise _ConnectionError(PROTOCOL_ERROR, "header block too large")
            if flags & END_HEADERS:
                self.expect_continuation = 0
                self._headers_complete(stream)
        elif kind == SETTINGS:
            self._settings(flags, sid, payload)
        elif kind == WINDOW_UPDATE:
            self._window_update(sid, payload)
        elif kind == PING:
            if len(payload) != 8 or sid:
                raise _ConnectionError(FRAME_SIZE_ERROR if sid == 0 else PROTOCOL_ERROR, "bad PING")
            if not flags & ACK:
                self.transport.write(frame(PING, ACK, 0, payload))
        elif kind == RST_STREAM:
            if len(payload) != 4 or not sid:
                raise _ConnectionError(FRAME_SIZE_ERROR if sid else PROTOCOL_ERROR, "bad RST_STREAM")
            stream = self.streams.get(sid)
            if stream is not None:
                self._spend_reset()
                self._end_stream(stream)
            else:  # a stream already closed: nothing to do, but not free either
                self._spend_free()
        elif kind == GOAWAY:
            self.going_away = True
            self._close_if_idle()
        elif kind == PUSH_PROMISE:
            raise _ConnectionError(PROTOCOL_ERROR, "clients must not push")
        # PRIORITY and unknown frame types are ignored (RFC 9113 §5.5)

    def _headers(self, flags: int, sid: int, payload: bytes) -> None:
        if sid == 0 or sid % 2 == 0:
            raise _ConnectionError(PROTOCOL_ERROR, f"HEADERS on stream {sid}")
        start, end = 0, len(payload)
        if flags & PADDED:
            if not payload:
                raise _ConnectionError(PROTOCOL_ERROR, "bad padding")
            end -= payload[0]
            start = 1
        if flags & PRIORITY_FLAG:
            start += 5
        if start > end:
            raise _ConnectionError(PROTOCOL_ERROR, "bad padding")
        block = payload[start:end]
        stream = self.streams.get(sid)
        if stream is None:
            if sid <= self.last_stream:
                raise _ConnectionError(STREAM_CLOSED, f"HEADERS on closed stream {sid}")
            self.last_stream = sid
            if (self.going_away or self.server.closing or len(self.streams) + len(self.cancelled) >= MAX_STREAMS
                    or self.unsent > self.server.connection_window
                    or self.unsent and self.server.unsent > self.server.buffer_budget):
                if self.going_away or self.server.closing:
                    self.transport.write(frame(RST_STREAM, 0, sid, U32.pack(REFUSED_STREAM)))
                else:  # over the limit we announced, or the client leaves its answers unread: no new calls
                    self._reset(sid, REFUSED_STREAM)
                stream = self.streams[sid] = _Stream(sid, 0)
                stream.reset = True  # still decoded: the HPACK table must stay in step with the client's
            else:
                stream = self.streams[sid] = _Stream(sid, self.peer_window)
                stream.started = self.server.now
            stream.block += block
        elif stream.closed_remote:  # the client already ended this stream
            if not flags & END_HEADERS:
                raise _ConnectionError(STREAM_CLOSED, f"HEADERS on half-closed stream {sid}")
            self._decode(block)  # keeps the HPACK table in step with the client's
            self._end_stream(stream)
            self._reset(sid, STREAM_CLOSED)
            return
        else:  # trailers from the client: gRPC clients send none, but they are legal and end the stream
            stream.block = bytearray(block)
            flags |= END_STREAM
        if flags & END_STREAM:
            stream.closed_remote = True
        if flags & END_HEADERS:
            self._headers_complete(stream)
        else:
            self.expect_continuation = sid
            self.header_started = time.monotonic()

    def _headers_complete(self, stream: _Stream) -> None:
        headers = self._decode(bytes(stream.block))
        stream.block = bytearray()
        if stream.reset:
            self.streams.pop(stream.id, None)
            return
        if stream.headers is None:
            stream.headers = headers
        if stream.closed_remote:
            self._dispatch(stream)

    def _decode(self, block: bytes) -> dict[str, str]:
        """HPACK-decode, memoised per block while the dynamic table is unchanged (an insertion always adds
        a new front entry; an eviction needs an insertion or a size change)."""
        table = self.decoder.header_table
        entries = table.dynamic_entries
        state = (entries[0] if entries else None, len(entries), table.maxsize)
        hit = self.header_cache.get(block)
        if hit is not None and hit[0] is state[0] and hit[1] == state[1:]:
            return hit[2]
        try:
            pairs = self.decoder.decode(block, raw=True)
        except (hpack.HPACKError, IndexError, ValueError) as exc:
            raise _ConnectionError(COMPRESSION_ERROR, f"bad header block: {exc}") from None
        headers = {n.decode("latin-1"): v.decode("latin-1") for n, v in pairs}
        after = (entries[0] if entries else None, len(entries), table.maxsize)
        if after[0] is state[0] and after[1:] == state[1:]:
            if len(self.header_cache) > 128:
                self.header_cache.clear()
            self.header_cache[block] = (state[0], state[1:], headers)
        return headers

    def _data(self, flags: int, sid: int, payload: bytes) -> None:
        size = len(payload)
        if flags & PADDED:
            if not payload or payload[0] >= size:
                raise _ConnectionError(PROTOCOL_ERROR, "bad padding")
            payload = payload[1:size - payload[0]]
        if not payload and not flags & END_STREAM:  # moves nothing forward
            self._spend_free()
        self.conn_recv -= size
        if self.conn_recv < 0:
            raise _ConnectionError(FLOW_CONTROL_ERROR, "connection window exceeded")
        stream = self.streams.get(sid)
        if stream is None:
            self._release(size)
            if sid == 0 or sid > self.last_stream:
                raise _ConnectionError(PROTOCOL_ERROR, f"DATA on idle stream {sid}")
            return  # a stream we reset or answered early: its late frames are ignored (RFC 9113 §5.4.2)
        if stream.closed_remote:
            self._release(size)
            self._end_stream(stream)
            self._reset(sid, STREAM_CLOSED)
            return
        limit = self.server.max_message_bytes
        if flags & END_STREAM and not stream.body:  # the whole message in one frame (the common case): no copy
            self._release(size)
            stream.closed_remote = True
            if len(payload) > limit + 5 or len(payload) >= 5 and U32.unpack_from(payload, 1)[0] > limit:
                self._too_large(stream, len(payload) - 5)
            elif self.server.buffered + len(payload) > self.server.buffer_budget:
                self._finish(stream, None, Status.UNAVAILABLE, BUSY)
            else:
                self.server.buffered += len(payload)
                self._start(stream, payload)
            return
        stream.body += payload
        self.server.buffered += len(payload)
        self._release(size - len(payload))  # padding is never buffered
        if stream.declared < 0 and len(stream.body) >= 5:
            stream.declared = U32.unpack_from(stream.body, 1)[0]
        if stream.declared > limit or len(stream.body) > limit + 5:  # refused before it is buffered
            self._too_large(stream, max(stream.declared, len(stream.body) - 5))
            return
        if self.server.buffered > self.server.buffer_budget - self.server.headroom:
            self._refuse(stream, Status.UNAVAILABLE, BUSY)
            return
        if flags & END_STREAM:
            stream.closed_remote = True
            self._dispatch(stream)
            return
        stream.unacked += size
        if stream.unacked >= STREAM_WINDOW // 2:  # a long message: let the client go on sending it
            self.transport.write(frame(WINDOW_UPDATE, 0, sid, U32.pack(stream.unacked)))
            stream.unacked = 0

    def _drop_body(self, stream: _Stream) -> None:
        """Forget a stream's buffered request bytes (and give them back to the client's window)."""
        size = len(stream.body)
        self.server.buffered -= size
        stream.body = bytearray()
        self._release(size)

    def _release(self, size: int) -> None:
        """Buffered request bytes are gone: return them to the client's connection window, in batches."""
        self.released += size
        if self.released >= self.server.connection_window // 2:
            self.conn_recv += self.released
            self.transport.write(frame(WINDOW_UPDATE, 0, 0, U32.pack(self.released)))
            self.released = 0

    def _settings(self, flags: int, sid: int, payload: bytes) -> None:
        if sid:
            raise _ConnectionError(PROTOCOL_ERROR, "SETTINGS on a stream")
        if flags & ACK:
            return
        if len(payload) % 6:
            raise _ConnectionError(FRAME_SIZE_ERROR, "bad SETTINGS length")
        if len(payload) > 6 * MAX_SETTINGS:
            raise _ConnectionError(ENHANCE_YOUR_CALM, f"more than {MAX_SETTINGS} settings in one frame")
        for i in range(0, len(payload), 6):
            key, value = SETTING.unpack_from(payload, i)
            if key == INITIAL_WINDOW_SIZE:
                if value > MAX_WINDOW:
                    raise _ConnectionError(FLOW_CONTROL_ERROR, "initial window too large")
                delta, self.peer_window = value - self.peer_window, value
                for stream in self.streams.values():
                    stream.send_window += delta
                    if stream.send_window > MAX_WINDOW:  # RFC 9113 §6.9.2
                        raise _ConnectionError(FLOW_CONTROL_ERROR, "initial window change overflows a stream's window")
            elif key == MAX_FRAME_SIZE:
                if not 16384 <= value <= 16777215:
                    raise _ConnectionError(PROTOCOL_ERROR, "bad max frame size")
                self.peer_frame = value
            # HEADER_TABLE_SIZE needs nothing: our responses never use the dynamic table
        self.transport.write(frame(SETTINGS, ACK, 0))
        self._flush()

    def _window_update(self, sid: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise _ConnectionError(FRAME_SIZE_ERROR, "bad WINDOW_UPDATE")
        inc = U32.unpack(payload)[0] & 0x7FFFFFFF
        if sid == 0:
            if not inc:  # RFC 9113 §6.9
                raise _ConnectionError(PROTOCOL_ERROR, "WINDOW_UPDATE with an increment of 0")
            self.conn_send += inc
            if self.conn_send > MAX_WINDOW:
                raise _ConnectionError(FLOW_CONTROL_ERROR, "connection window overflow")
        else:
            stream = self.streams.get(sid)
            if stream is None:
                return
            if not inc or stream.send_window + inc > MAX_WINDOW:  # stream errors (RFC 9113 §6.9, §6.9.1)
                self._end_stream(stream)
                self._reset(sid, FLOW_CONTROL_ERROR if inc else PROTOCOL_ERROR)
                return
            stream.send_window += inc
        self._flush()

    # -- calls ---------------------------------------------------------------------------------------------
    def _too_large(self, stream: _Stream, size: int) -> None:
        self._spend_reset()
        limit = self.server.max_message_bytes
        self._refuse(stream, Status.RESOURCE_EXHAUSTED,
                     f"request message of {size} bytes is larger than the server's limit of {limit} bytes")

    def _dispatch(self, stream: _Stream) -> None:
        """A message complete in several frames: its window goes back to the client, its bytes stay charged."""
        body = bytes(stream.body)
        stream.body = bytearray()
        self._release(len(body))
        self._start(stream, body)

    def _start(self, stream: _Stream, body: bytes) -> None:
        """Run the call of a complete message, already charged to the server's byte budget: it stays held
        (with its inflated size, when compressed) until the call ends, so complete messages in flight are
        bounded as partial ones are."""
        self.progress += 1
        self.free.earn(FREE_PER_CALL)
        task = stream.task = asyncio.get_running_loop().create_task(self._call(stream, body))
        self.held[task] = len(body)
        self.tasks.add(task)
        task.add_done_callback(self._call_done)

    def _call_done(self, task: asyncio.Task) -> None:
        self.server.buffered -= self.held.pop(task, 0)
        self.tasks.discard(task)
        self.cancelled.discard(task)
        if self.going_away or self.server.closing:
            self._close_if_idle()

    async def _call(self, stream: _Stream, body: bytes) -> None:
        headers = stream.headers or {}
        try:
            path = headers.get(":path", "")
            route = self.server.routes.get(path)
            if headers.get(":method") != "POST":
                raise GrpcError(Status.UNIMPLEMENTED, f"gRPC calls are POST, not {headers.get(':method')}")
            if not headers.get("content-type", "").startswith("application/grpc"):
                raise GrpcError(Status.UNIMPLEMENTED, "content-type must be application/grpc")
            if route is None:
                raise GrpcError(Status.UNIMPLEMENTED, f"unknown method {path}")
            parse, handler = route
            encoding = headers.get("grpc-encoding", "identity")
            message = self._message(body, encoding)
            if message is None:
                message = await self._inflate(stream, memoryview(body)[5:], encoding)
            request = parse(message)
        except GrpcError as exc:
            self._finish(stream, None, exc.status, exc.message)
            return
        except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError and friends: the client's message
            self._finish(stream, None, Status.INVALID_ARGUMENT, f"cannot parse the request message: {exc}")
            return
        call = Call(headers)
        try:
            response = await handler(request, call)
            payload = response.SerializeToString()
        except GrpcError as exc:
            self._finish(stream, None, exc.status, exc.message, call.trailing)
        except Exception:
            log.exception("gRPC handler failed", extra={"method": path})
            self._finish(stream, None, Status.INTERNAL, "internal error", call.trailing)
        else:
            self._finish(stream, payload, Status.OK, "", call.trailing)

    def _message(self, body: bytes, encoding: str) -> bytes | None:
        """The request message; None when it is compressed with a supported encoding (:meth:`_inflate`)."""
        if len(body) < 5:
            raise GrpcError(Status.INVALID_ARGUMENT, "the request has no message")
        compressed, length = body[0], U32.unpack_from(body, 1)[0]
        if length != len(body) - 5:
            raise GrpcError(Status.INVALID_ARGUMENT, "a unary call takes exactly one request message")
        if not compressed:
            return body[5:]
        if encoding in ("gzip", "deflate"):
            return None
        if encoding == "identity":
            raise GrpcError(Status.INTERNAL, "compressed flag set without a grpc-encoding")
        raise GrpcError(Status.UNIMPLEMENTED, f"grpc-encoding {encoding!r} is not supported (identity, gzip, "
                                              f"deflate)")

    async def _inflate(self, stream: _Stream, data: memoryview, encoding: str) -> bytes:
        """A compressed message, inflated within the message limit and the server's byte budget (a 16 KiB gzip
        bomb is 16 MiB inflated): one message at a time, a step at a time, each step's output taken from the budget
        before it runs, so concurrent calls hold what they inflated, not the limit each, and the first finish. The first :data:`INFLATE_ON_LOOP` bytes
        inflate here, further steps of :data:`INFLATE_STEP` on a thread (zlib runs without the GIL), so the loop
        is never held for long. The bytes stay charged until the call ends; a stream cut short (no end marker)
        is INVALID_ARGUMENT, one past the limit RESOURCE_EXHAUSTED, one the budget cannot hold UNAVAILABLE."""
        async with self.server.inflating:  # one at a time: many partly inflated messages would fill the budget
            return await self._inflate_steps(stream, data, encoding)  # and none would finish

    async def _inflate_steps(self, stream: _Stream, data: memoryview, encoding: str) -> bytes:
        server = self.server
        limit = server.max_message_bytes
        inflater = zlib.decompressobj(wbits=31 if encoding == "gzip" else 15)
        parts: list[bytes] = []
        total = 0
        pending: Any = data
        step = INFLATE_ON_LOOP
        while True:
            grab = min(step, limit + 1 - total, server.buffer_budget - server.headroom - server.buffered)
            if grab <= 0:
                raise GrpcError(Status.UNAVAILABLE, BUSY)
            server.buffered += grab  # taken before the step runs; what it did not produce is given back below
            self.held[stream.task] += grab  # type: ignore[index]
            try:
                if step == INFLATE_ON_LOOP:
                    chunk = inflater.decompress(pending, grab)
                else:
                    chunk = await asyncio.get_running_loop().run_in_executor(None, inflater.decompress, pending,
                                                                             grab)
            except zlib.error as exc:
                raise GrpcError(Status.INVALID_ARGUMENT, f"bad {encoding} message: {exc}") from None
            server.buffered -= grab - len(chunk)
            self.held[stream.task] -= grab - len(chunk)  # type: ignore[index]
            parts.append(chunk)
            total += len(chunk)
            if total > limit:
                raise GrpcError(Status.RESOURCE_EXHAUSTED,
                                f"request message larger than the server's limit of {limit} bytes")
            if inflater.eof:
                return parts[0] if len(parts) == 1 else b"".join(parts)
            pending = inflater.unconsumed_tail
            if not pending and len(chunk) < grab:  # all input read, no end marker: cut short
                raise GrpcError(Status.INVALID_ARGUMENT, f"bad {encoding} message: it ends before its end marker")
            step = INFLATE_STEP

    def _end_stream(self, stream: _Stream) -> None:
        """Forget a stream the client reset or broke: its buffered bytes, its unsent answer, its call."""
        self.streams.pop(stream.id, None)
        stream.reset = True
        self._drop_body(stream)
        if stream.pending is not None:
            self._unsent_done(len(stream.pending[0]))
            stream.pending = None
        if stream.task is not None and not stream.task.done():
            stream.task.cancel()  # a call not started yet never runs; one running stops at its await
            self.cancelled.add(stream.task)

    def _unsent_done(self, n: int) -> None:
        """``n`` answer bytes sent (or dropped). The unsent answers have moved once MIN_PROGRESS bytes went (or
        none is left): a client that opens its window a byte at a time is not reading its answers."""
        self.unsent -= n
        self.server.unsent -= n
        self.moved += n
        if self.moved >= MIN_PROGRESS or not self.unsent:
            self.moved = 0
            self.unsent_since = self.server.now

    def _drop_unsent(self) -> None:
        for stream in self.streams.values():
            stream.pending = None
        self.blocked = []
        self.server.unsent -= self.unsent
        self.unsent = 0

    def _refuse(self, stream: _Stream, status: Status, message: str) -> None:
        """Answer now, before the request is complete, and stop reading it."""
        self._drop_body(stream)
        self._finish(stream, None, status, message)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame(RST_STREAM, 0, stream.id, U32.pack(NO_ERROR)))
        stream.reset = True

    def _finish(self, stream: _Stream, payload: bytes | None, status: Status, message: str,
                trailing: list[tuple[bytes, bytes]] | tuple = ()) -> None:
        """``trailing``: the handler's trailing metadata (``Call.trailing``)."""
        if stream.reset or self.lingering or self.transport is None or self.transport.is_closing():
            self.streams.pop(stream.id, None)
            return
        sid = stream.id
        if payload is None:
            self.streams.pop(sid, None)
            self._send_headers(sid, trailers(status, message, trailers_only=True, extra=trailing), END_STREAM)
            return
        done = ok_trailers(trailing) if trailing else OK_TRAILERS
        data = b"\0" + U32.pack(len(payload)) + payload
        n = len(data)
        if n <= self.peer_frame and n <= stream.send_window and n <= self.conn_send:  # the common case
            self.conn_send -= n
            self.streams.pop(sid, None)
            self.transport.write(frame(HEADERS, END_HEADERS, sid, RESPONSE_HEADERS) + frame(DATA, 0, sid, data)
                                 + frame(HEADERS, END_HEADERS | END_STREAM, sid, done))
            return
        self.transport.write(frame(HEADERS, END_HEADERS, sid, RESPONSE_HEADERS))
        stream.pending = [memoryview(data), done]
        if not self.unsent:
            self.unsent_since = self.server.now
            self.moved = 0
        self.unsent += n
        self.server.unsent += n
        self.blocked.append(sid)
        self._flush()

    def _send_headers(self, sid: int, block: bytes, flags: int) -> None:
        chunk = self.peer_frame
        first, rest = block[:chunk], block[chunk:]
        out = [frame(HEADERS, flags | (0 if rest else END_HEADERS), sid, first)]
        while rest:
            piece, rest = rest[:chunk], rest[chunk:]
            out.append(frame(CONTINUATION, 0 if rest else END_HEADERS, sid, piece))
        self.transport.write(b"".join(out))

    def _flush(self) -> None:
        """Send what the windows allow of responses that did not fit."""
        if not self.blocked or self.transport is None or self.transport.is_closing():
            return
        waiting = []
        for sid in self.blocked:
            stream = self.streams.get(sid)
            if stream is None or stream.reset or stream.pending is None:
                continue
            data, trailers = stream.pending
            out = []
            sent = 0
            while data and stream.send_window > 0 and self.conn_send > 0:
                n = min(len(data), self.peer_frame, stream.send_window, self.conn_send)
                out.append(frame(DATA, 0, sid, bytes(data[:n])))
                data = data[n:]
                stream.send_window -= n
                self.conn_send -= n
                sent += n
            if out:
                self.transport.write(b"".join(out))
                self.progress += 1
                self._unsent_done(sent)
            if data:
                stream.pending[0] = data
                waiting.append(sid)
            else:
                self.streams.pop(sid, None)
                self._send_headers(sid, trailers, END_STREAM)
        self.blocked = waiting
        if self.going_away or self.server.closing:
            self._close_if_idle()

    def _close_if_idle(self) -> None:
        if not self.tasks and not self.blocked and self.transport is not None and not self.transport.is_closing():
            if not any(s.headers is not None and not s.reset for s in self.streams.values()):
                self.transport.close()

    def check_timeouts(self, now: float) -> None:
        """Called by the server's sweeper: close what waited too long for the client."""
        limits = self.server.limits
        if self.transport is None or self.lingering or self.transport.is_closing():
            return
        if not self.preface:
            if now - self.opened > limits.header_timeout_s:
                log.info("gRPC connection closed: no HTTP/2 preface in time")
                self.transport.close()
            return
        if self.expect_continuation and now - self.header_started > limits.header_timeout_s:
            self._close(NO_ERROR, f"header block not complete within {limits.header_timeout_s:g} s")
            return
        if self.partial_since and not self.read_paused and now - self.partial_since > limits.header_timeout_s:
            self._close(NO_ERROR, f"frame not complete within {limits.header_timeout_s:g} s")
            return
        buffered = self.transport.get_write_buffer_size()
        if buffered < self.write_buffered or buffered and not self.write_buffered:
            self.unsent_since = now  # the client reads its socket (its window updates may wait behind it), or a
        self.write_buffered = buffered  # backlog starts now
        if (self.unsent or buffered) and now - self.unsent_since > limits.message_timeout_s:
            self._close(NO_ERROR, f"answers left unread for {limits.message_timeout_s:g} s")
            return
        for stream in list(self.streams.values()):
            if (stream.task is None and not stream.reset and stream.headers is not None and not stream.closed_remote
                    and now - stream.started > limits.message_timeout_s):
                self._refuse(stream, Status.DEADLINE_EXCEEDED,
                             f"the request message did not arrive within {limits.message_timeout_s:g} s")
        # Idle: no call running or arriving, and nothing dispatched or sent since the last look. An answer the
        # client never opens a window for (a slow-read attack) does not keep a connection alive.
        if (self.tasks or self.progress != self.seen_progress
                or any(s.pending is None and not s.reset for s in self.streams.values())):
            self.seen_progress, self.idle_since = self.progress, now
        elif now - self.idle_since > limits.idle_timeout_s:
            self._close(NO_ERROR, "idle connection")

    def shutdown(self) -> None:
        """Refuse new calls (GOAWAY names the last stream we will answer); close once in-flight calls end."""
        self._goaway(NO_ERROR, "server shutting down")
        self._close_if_idle()


class GrpcServer:
    """Listens and owns the connections. ``stop(grace)`` drains: GOAWAY, then up to ``grace`` seconds."""

    def __init__(self, routes: Routes, *, max_message_bytes: int, limits: GrpcLimitsConfig | None = None):
        self.routes = routes
        self.max_message_bytes = max_message_bytes
        self.limits = limits = limits or GrpcLimitsConfig()
        self.connection_window = max(8 << 20, max_message_bytes + (1 << 16))
        self.buffered = 0  # request bytes held, across connections: partial messages, and calls until they end
        self.unsent = 0  # answer bytes waiting for clients' flow-control windows, across connections
        self.inflating = asyncio.Lock()  # compressed messages inflate one at a time (GrpcConnection._inflate)
        self.refusing = 0  # connections over the limit, lingering until their GOAWAY is read
        self.now = time.monotonic()  # a clock that ticks with the sweeper (at most a quarter of any timeout)
        self.buffer_budget = max(limits.max_buffered_bytes, max_message_bytes + 5)
        # kept for messages of one frame (every small call): large and compressed ones cannot take it all, so a
        # client filling the budget with large calls does not starve small ones; never more than leaves room for
        # one message of the largest size
        self.headroom = max(0, min(1 << 20, self.buffer_budget - max_message_bytes - 5))
        self.connections: set[GrpcConnection] = set()
        self.closing = False
        self._server: asyncio.base_events.Server | None = None
        self._sweeper: asyncio.Task | None = None

    async def _sweep(self) -> None:
        limits = self.limits
        tick = min(1.0, max(0.05, min(limits.header_timeout_s, limits.message_timeout_s, limits.idle_timeout_s) / 4))
        while True:
            await asyncio.sleep(tick)
            self.now = now = time.monotonic()
            for conn in list(self.connections):
                try:
                    conn.check_timeouts(now)
                except Exception:  # a bug must not stop the sweeper for every other connection
                    log.exception("gRPC timeout check failed")

    async def start(self, host: str, port: int, reuse_port: bool = False) -> int:
        """Bind and listen; returns the bound port. Raises OSError when the address is taken."""
        loop = asyncio.get_running_loop()
        hosts = None if host in ("0.0.0.0", "::", "") else host
        self._server = await loop.create_server(lambda: GrpcConnection(self), hosts, port, backlog=2048,
                                                reuse_port=reuse_port or None)
        self._sweeper = loop.create_task(self._sweep())
        return self._server.sockets[0].getsockname()[1]

    async def stop(self, grace: float) -> None:
        self.closing = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while self.connections and loop.time() < deadline:
            await asyncio.sleep(0.02)
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.abort()
