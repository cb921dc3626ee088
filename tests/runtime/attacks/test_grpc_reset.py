"""Issue 20 item 1: rapid reset (CVE-2023-44487). A call reset by its client must not run (or must stop), a
dispatched call counts against the stream limit until its work has ended, and a client that resets calls at
an abusive rate gets GOAWAY(ENHANCE_YOUR_CALM) while everyone else is served."""

from __future__ import annotations

import asyncio
import re
import struct
import threading
import time
import urllib.request

import numpy as np
import pytest
from mlready.runtime.grpc_transport import Call, GrpcServer
from mlready.runtime.grpc_wire import (
    DATA,
    END_HEADERS,
    END_STREAM,
    HEADERS,
    REFUSED_STREAM,
    RST_STREAM,
    frame,
)
from mlready.runtime.proto import grpc_predict_v2_pb2 as pb

from tests.runtime.attacks.h2client import CANCEL, ENHANCE_YOUR_CALM, RawH2, until
from tests.support.prober import Prober, assert_serves, honest_request

pytestmark = pytest.mark.server


def mlp_message(rows: int = 32) -> bytes:
    """A ModelInfer for the ``mlp`` model (64 features): what the attacker asks for, then cancels."""
    x = np.random.default_rng(0).standard_normal((rows, 64)).astype(np.float32)
    return honest_request("mlp", "input", x)


def served(server, model: str, status: str = "200") -> float:
    text = urllib.request.urlopen(f"{server.url}/metrics", timeout=5).read().decode()
    pattern = (rf'^mlready_requests_total\{{(?=[^}}]*model="{model}")(?=[^}}]*protocol="v2-grpc")'
               rf'(?=[^}}]*status="{status}")[^}}]*\}} (\S+)$')
    return sum(float(v) for v in re.findall(pattern, text, re.M))


def test_rapid_reset_flood(target, honest):
    message = mlp_message()
    with Prober(target, honest) as probe, RawH2(target.grpc_port) as attacker:
        end = time.monotonic() + 3.0
        sent = attacker.flood(None, 3.0, make=lambda: b"".join(attacker.call(message, reset=True)
                                                               for _ in range(50)))
        time.sleep(max(0.5, end - time.monotonic()))  # the probes go on for the attack's whole time
    report = probe.report
    print(f"rapid reset: {sent * 50} calls reset; ran {served(target, 'mlp'):.0f}; {report.summary()}; "
          f"GOAWAY {attacker.goaway}")
    report.check(p99_ms=100, rss_mb=report.rss_before_mb + 100)
    assert attacker.goaway == ENHANCE_YOUR_CALM
    assert_serves(target, honest)


def test_a_reset_call_does_not_run(target):
    message = mlp_message()
    with RawH2(target.grpc_port) as client:
        client.send(b"".join(client.call(message, reset=True) for _ in range(100)))
        client.send(client.call(message))  # one call not reset: its answer marks the end
        until(lambda: client.headers_seen >= 1, 5)
        assert client.goaway is None  # 100 resets are not abuse
    ran = served(target, "mlp")
    assert 1 <= ran <= 10, f"{ran:.0f} of 100 cancelled calls ran"


class _Stubborn:
    """A handler whose work outlives cancellation (like inference already running on a thread)."""

    def __init__(self) -> None:
        self.running = 0
        self.release = asyncio.Event()

    async def __call__(self, request, call: Call):
        self.running += 1
        try:
            await asyncio.shield(self.release.wait())
        except asyncio.CancelledError:
            await self.release.wait()  # the work goes on after the client gave up
            raise
        finally:
            self.running -= 1
        return pb.ModelInferResponse()


def test_reset_calls_still_running_count_against_the_stream_limit():
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    handler = _Stubborn()
    server = GrpcServer({"/t.T/Work": (pb.ModelInferRequest.FromString, handler)}, max_message_bytes=1 << 20)
    port = asyncio.run_coroutine_threadsafe(server.start("127.0.0.1", 0), loop).result(10)
    try:
        with RawH2(port) as client:
            path = b"/t.T/Work"
            first = client.next_sid
            client.send(b"".join(client.call(b"", path=path) for _ in range(256)))
            assert until(lambda: handler.running == 256, 5)
            client.send(b"".join(frame(RST_STREAM, 0, sid, struct.pack(">I", CANCEL))
                                 for sid in range(first, client.next_sid, 2)))  # the client gives up on all
            sid = client.next_sid
            client.send(client.call(b"", path=path))  # the 257th concurrent call
            assert until(lambda: sid in client.resets, 5) and client.resets[sid] == REFUSED_STREAM
            loop.call_soon_threadsafe(handler.release.set)
            assert until(lambda: handler.running == 0, 5)
            client.send(client.call(b"", path=path))  # the work ended: calls are accepted again
            assert until(lambda: client.headers_seen >= 2, 5)  # response HEADERS (and trailers) of the accepted call
            assert client.goaway is None
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(1), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def test_a_flood_of_real_calls_on_one_connection_leaves_room_for_others(target, honest):
    """Not an abuse of the protocol, just many cheap calls as fast as one connection can send them (reading
    every answer): the others still get their turn."""
    live = b"\0\0\0\0\0"  # an empty ServerLiveRequest, length-prefixed
    path = b"/inference.GRPCInferenceService/ServerLive"
    with Prober(target, honest) as probe, RawH2(target.grpc_port) as attacker:
        def batch() -> bytes:
            out = []
            for _ in range(100):
                sid, attacker.next_sid = attacker.next_sid, attacker.next_sid + 2
                out.append(frame(HEADERS, END_HEADERS, sid, attacker.headers_block(path)) + frame(DATA, END_STREAM, sid, live))
            return b"".join(out)

        sent = attacker.flood(None, 3.0, make=batch)
    report = probe.report
    print(f"call flood: {sent * 100} calls sent, {attacker.headers_seen} answered; {report.summary()}; "
          f"GOAWAY {attacker.goaway}")
    report.check(p99_ms=100, rss_mb=report.rss_before_mb + 100)
    assert_serves(target, honest)
