"""The REST port's front end: granian (Rust, hyper's HTTP/1.1) embedded in our event loop, speaking RSGI to a
small adapter that turns each request into a protocol-independent :class:`~mlready.runtime.rest.Request` for
:meth:`App.respond <mlready.runtime.rest.App.respond>`.

Why granian and not uvicorn: hyper's HTTP/1.1 state machine carries the limits a public port needs (header
bytes and count -> 431, a header-read timeout that also closes idle kept-alive connections, a bounded read
buffer, one request at a time per connection so pipelining cannot queue work, a connection cap through
``backpressure``), and the Rust front end leaves more of the CPU to our Python: the same bare handler serves
1.7-2x the requests on granian as on uvicorn + httptools here (figures in runtime/README.md). What hyper lacks is added here (``http_limits`` in the runtime config):

- **body timeout**: the whole body must arrive within ``body_timeout_s`` (408, connection closed);
- **header count** below hyper's own 100 (``max_headers``, 431);
- **body size** from Content-Length before anything is read, and while streaming a chunked body (413);
- **body integrity**: a body that ends before its Content-Length or its last chunk (a malformed chunk line, the
  connection closing mid-body) answers 400, never a prediction on the part that arrived; granian's body
  iterator reports such a failure only as an early empty chunk (:meth:`_Body._streamed`);
- **tiny chunks**: a streamed body over ``FREE_PIECES`` pieces must average ``MIN_PIECE_BYTES`` a piece (400):
  each piece costs the event loop a future (~9 µs), so 1-byte chunks cost seconds of CPU per request;
- **decode budget**: bytes of request bodies being received and decoded at once across connections (large
  bodies are charged as they arrive); a body that does not fit answers 503 (``Retry-After: 1``). Bodies of
  ``offload_bytes`` or more are decoded in the decode process pool (:mod:`~mlready.runtime.decode_pool`), off
  this process's GIL;
- **drain**: in-flight requests are counted, so SIGTERM can wait for them (:meth:`HttpFrontEnd.stop`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from granian.rsgi import ProtocolClosed, ProtocolError
from mlready.runtime.config import RuntimeConfig
from mlready.runtime.errors import (
    BadRequest,
    HeadersTooLarge,
    Overloaded,
    PayloadTooLarge,
    RequestTimeout,
    ServingError,
)
from mlready.runtime.rest import App, ClientGone, Request, Response, _error

log = logging.getLogger("mlready.runtime.http")

# A streamed body (chunked, or Content-Length >= offload_bytes) arrives in pieces, one awaited future each (~9 µs
# of the event loop, ~28 µs of the process with hyper's side): hyper hands over one piece per chunk, or per socket
# read (KBs for a large body, ~1.4 KB a TCP segment at worst). The first FREE_PIECES pieces are free (a client
# writing one small chunk per row); past them the pieces must average MIN_PIECE_BYTES, so a max_body_bytes body
# (16 MiB by default) costs at most 16384 pieces (~0.15 s of the loop) instead of ~16 million 1-byte chunks.
FREE_PIECES = 4096
MIN_PIECE_BYTES = 1024


def _cut_short(length: bytes | None, received: int | None = None) -> BadRequest:
    """The 400 for a body that ended early (also when the client is gone: nobody reads it then)."""
    if length is None:
        return BadRequest("the chunked request body ended before its last chunk (a malformed chunk, the "
                          "connection closed mid-body, or trailer fields, which are not accepted)")
    got = "" if received is None else f"{received} of "
    return BadRequest(f"the request body ended before its Content-Length ({got}{int(length)} bytes)")


class ByteBudget:
    """Bytes of request bodies held at once, across connections; :meth:`take` fails instead of waiting."""

    __slots__ = ("free",)

    def __init__(self, total: int):
        self.free = total

    def take(self, n: int) -> None:
        if n > self.free:
            raise Overloaded(f"too many large requests at once: {n} more body bytes do not fit the decode budget; "
                             "retry later")
        self.free -= n

    def give(self, n: int) -> None:
        self.free += n


async def _empty() -> bytes:
    return b""


class BodyReads:
    """The requests waiting for their body, with deadlines, swept by one task: cheaper on the hot path than a
    timer per request (``asyncio.timeout`` costs a heap entry and a reschedule for every body), and it lets
    shutdown end the reads of clients that went away (granian does not resolve a read whose client closed)."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.deadlines: dict[asyncio.Task, float] = {}
        self.expired: set[asyncio.Task] = set()
        self.closing = False
        self._sweeper: asyncio.Task | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._sweeper = self.loop.create_task(self._sweep())

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        interval = min(1.0, max(0.05, self.timeout / 10))
        while True:
            await asyncio.sleep(interval)
            now = loop.time()
            for task, deadline in list(self.deadlines.items()):
                if now >= deadline:
                    self.expired.add(task)
                    task.cancel()

    def close(self, grace: float) -> None:
        """Shutdown: a body still arriving gets at most ``grace`` more seconds (a read whose client is gone
        would otherwise hold the drain for the whole body timeout)."""
        self.closing = True
        self.timeout = min(self.timeout, grace)
        end = asyncio.get_running_loop().time() + grace
        for task, deadline in self.deadlines.items():
            self.deadlines[task] = min(deadline, end)

    async def read(self, read: Any, req: Request, length: bytes | None = None) -> bytes:
        """``read``'s bytes, kept as ``req.body`` too, within the body timeout; ``length`` is the request's
        Content-Length (for the 400 of a body cut short)."""
        loop = self.loop
        task = asyncio.current_task(loop)
        assert loop is not None and task is not None
        self.deadlines[task] = loop.time() + self.timeout
        try:
            body = req.body = await read
            return body
        except asyncio.CancelledError:
            if task not in self.expired:
                raise
            self.expired.discard(task)
            task.uncancel()
            if self.closing:
                raise ClientGone() from None
            raise RequestTimeout(f"the request body did not arrive within {self.timeout:g} s") from None
        except (ProtocolClosed, ProtocolError):  # hyper's body failed: cut short or malformed (await proto())
            if self.closing:
                raise ClientGone() from None
            # the client may have only half-closed and still read the answer (granian cannot tell the two apart:
            # proto.client_disconnect() does not fire for either); returning nothing would answer granian's 500
            raise _cut_short(length) from None
        finally:
            self.deadlines.pop(task, None)


class _Body:
    """Reads one request's body within the limits; remembers what it took from the budget.

    A small body (under ``stream_at``) is charged to the budget for its announced length and read whole. A
    large one is streamed and charged as its bytes arrive, so a client that announces a large body and sends
    little (or leaves) holds only what it sent, not the budget every honest large request needs."""

    __slots__ = ("proto", "length", "budget", "reads", "stream_at", "taken")

    def __init__(self, proto: Any, length: bytes | None, budget: ByteBudget, reads: BodyReads, stream_at: int):
        self.proto, self.length, self.budget, self.reads = proto, length, budget, reads
        self.stream_at = stream_at
        self.taken = 0

    def __call__(self, limit: int, req: Request) -> Awaitable[bytes]:
        """The body, awaitable, kept as ``req.body`` (a plain function: one coroutine frame fewer on the
        request's hot path)."""
        if self.length is not None:
            try:
                n = int(self.length)
            except ValueError:
                raise BadRequest("invalid Content-Length") from None
            if n > limit:
                raise PayloadTooLarge(f"the request body ({n} bytes) is over the limit of {limit} bytes")
            if n == 0:
                return _empty()
            if n < self.stream_at:
                self._take(n)
                return self.reads.read(self.proto(), req, self.length)
            return self.reads.read(self._streamed(limit, n), req, self.length)
        return self.reads.read(self._streamed(limit, None), req)

    def _take(self, n: int) -> None:
        self.budget.take(n)
        self.taken += n

    async def _streamed(self, limit: int, length: int | None) -> bytes:
        """The body, read piece by piece. granian's iterator (``__anext__`` in its src/rsgi/io.rs) never raises
        for a failed body: each piece is non-empty; the end is one empty piece, then StopAsyncIteration; a
        failure of hyper's body (a malformed chunk line or extension, the connection closing before the last
        chunk or before Content-Length bytes) is an empty piece *followed by another* (then the end). A trailer
        section looks exactly like a failure (granian maps its frame to an empty piece too), so it is refused."""
        chunks, total, pieces = [], 0, 0
        anext = self.proto.__aiter__().__anext__
        while True:
            try:
                chunk = await anext()
            except StopAsyncIteration:  # not seen from granian 2.8 (the end comes as an empty piece first)
                break
            if not chunk:  # the end, or a failure when anything but StopAsyncIteration follows
                try:
                    await anext()
                except StopAsyncIteration:
                    break
                raise _cut_short(self.length, total if length is not None else None)
            total += len(chunk)
            if total > limit:
                raise PayloadTooLarge(f"the request body is over the limit of {limit} bytes")
            pieces += 1
            if pieces > FREE_PIECES and total < pieces * MIN_PIECE_BYTES:
                raise BadRequest(f"the request body arrived in more than {FREE_PIECES} chunks averaging "
                                 f"{total // pieces} bytes; past {FREE_PIECES} chunks they must average at least "
                                 f"{MIN_PIECE_BYTES} bytes (send larger chunks, or a Content-Length)")
            self._take(len(chunk))
            chunks.append(chunk)
        if length is not None and total != length:  # hyper enforces it; never predict on a short body
            raise _cut_short(self.length, total)
        return b"".join(chunks)

    def release(self) -> None:
        if self.taken:
            self.budget.give(self.taken)
            self.taken = 0


class RsgiAdapter:
    """The RSGI application granian calls: one :class:`Request` per HTTP request, answered by ``App.respond``."""

    def __init__(self, app: App, config: RuntimeConfig):
        self.app = app
        limits = config.http_limits
        self.max_headers = limits.max_headers
        self.max_header_bytes = limits.max_header_bytes
        self.reads = BodyReads(limits.body_timeout_s)
        self.offload_at = limits.offload_bytes
        self.budget = ByteBudget(limits.decode_budget_bytes)
        self.inflight = 0

    async def __rsgi__(self, scope: Any, proto: Any) -> None:
        if scope.proto != "http":  # websockets are off; nothing else reaches us
            return
        self.inflight += 1
        body = None
        try:
            items = scope.headers.items()
            headers = dict(items)  # hyper's lower-cased names, latin-1 values
            problem = self._header_problem(items)
            if problem is not None:
                resp: Response | None = _error(HeadersTooLarge(problem))
                req_method = scope.method
            else:
                body = _Body(proto, headers.get("content-length"), self.budget, self.reads, self.offload_at)
                req = Request(scope.method, scope.path, headers, body, self.offload_at)
                req_method = req.method
                resp = await self.app.respond(req)
            if resp is None:  # the client is gone
                return
            out = [("content-type", resp.content_type.decode("latin-1"))]
            if problem is None and req.id:  # the client's X-Request-Id (when valid) or a new one (rest.Request)
                out.append(("x-request-id", req.id))
            for k, v in resp.headers:
                out.append((k.decode("latin-1"), v.decode("latin-1")))
            proto.response_bytes(resp.status, out, b"" if req_method == "HEAD" else resp.body)
        except ServingError as exc:  # pragma: no cover - App.respond maps these; a guard for the adapter itself
            proto.response_bytes(exc.status, [("content-type", "application/json")], _error(exc).body)
        finally:
            if body is not None:
                body.release()
            self.inflight -= 1

    def _header_problem(self, items: list[tuple[str, str]]) -> str | None:
        """hyper refuses more than 100 fields and bounds header bytes at its read-buffer granularity (up to
        about twice ``max_buffer_size``); the configured limits are exact here."""
        if len(items) > self.max_headers:
            return f"the request has {len(items)} header fields; the limit is {self.max_headers}"
        size = sum(map(len, map("".join, items))) + 4 * len(items)  # name: value CRLF
        if size > self.max_header_bytes:
            return f"the request headers are {size} bytes; the limit is {self.max_header_bytes}"
        return None


class HttpFrontEnd:
    """granian's embedded server on our event loop, with the ``http_limits`` it enforces itself."""

    def __init__(self, app: App, config: RuntimeConfig):
        from granian.constants import HTTPModes, Interfaces
        from granian.http import HTTP1Settings
        from granian.log import LogLevels
        from granian.server.embed import Server

        limits = config.http_limits
        self.adapter = RsgiAdapter(app, config)
        # granian's own logs go through ours (JSON on stderr); its "embedded is experimental" warning is noise
        level = LogLevels.debug if config.log_level == "debug" else LogLevels.error
        self.server = Server(
            self.adapter, address=config.host, port=config.http_port, interface=Interfaces.RSGI,
            http=HTTPModes.http1, websockets=False, backlog=2048, backpressure=limits.max_connections,
            http1_settings=HTTP1Settings(header_read_timeout=max(1, round(limits.header_timeout_s * 1000)),
                                         keep_alive=True, max_buffer_size=limits.max_header_bytes,
                                         pipeline_flush=False),
            log_level=level,
            log_dictconfig={"loggers": {"_granian": {"propagate": True, "handlers": []},
                                        "granian.access": {"level": "ERROR", "propagate": True, "handlers": []}}},
        )
        self.task: asyncio.Task | None = None

    def bind_check(self) -> None:
        """Raise OSError now if the port cannot be bound (granian binds with SO_REUSEPORT in each worker)."""
        import socket

        family = socket.AF_INET6 if ":" in self.server.bind_addr else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((self.server.bind_addr, self.server.bind_port))

    def start(self) -> asyncio.Task:
        self.adapter.reads.start()
        self.task = asyncio.get_running_loop().create_task(self.server.serve())
        return self.task

    async def stop(self, drain_seconds: float) -> None:
        """Stop accepting; kept-alive connections close after their current request; in-flight requests get
        ``drain_seconds`` to finish."""
        self.server.stop()
        self.adapter.reads.close(grace=min(1.0, drain_seconds))
        if self.task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self.task), drain_seconds)
            except Exception:  # noqa: BLE001 - the front end failed or took too long: drain what we know
                pass
        deadline = asyncio.get_running_loop().time() + drain_seconds
        while self.adapter.inflight and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)  # polled: an Event set/cleared by every request costs the hot path
        if self.adapter.inflight:
            log.warning("drain timed out with requests in flight", extra={"inflight": self.adapter.inflight})


__all__ = ["ByteBudget", "HttpFrontEnd", "RsgiAdapter"]
