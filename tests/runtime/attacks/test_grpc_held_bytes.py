"""Bytes the gRPC port holds for a client beyond partial messages: complete messages in flight (a gzip bomb is a
few KiB on the wire and the message limit inflated), and answers the client never opens a flow-control window
for. Both are bounded by the server's byte budget (``grpc_limits.max_buffered_bytes``); a client that leaves
its answers unread is refused new calls, then closed. And the flow-control checks of RFC 9113 §6.9."""

from __future__ import annotations

import gzip
import json
import struct
import time

import numpy as np
import pytest
from mlready.runtime.grpc_wire import (
    DATA,
    END_HEADERS,
    END_STREAM,
    FLOW_CONTROL_ERROR,
    HEADERS,
    NO_ERROR,
    PREFACE,
    PROTOCOL_ERROR,
    REFUSED_STREAM,
    SETTINGS,
    WINDOW_UPDATE,
    Status,
    frame,
)

from tests.runtime.attacks.h2client import ENHANCE_YOUR_CALM, RawH2, until
from tests.support.prober import Prober, assert_serves, honest_request

pytestmark = pytest.mark.server

MIB = 1 << 20
SMALL = {"max_body_bytes": 4 * MIB, "grpc_limits": {"max_buffered_bytes": 8 * MIB}}


def _rows_request(model_repo, rows: int) -> bytes:
    signature = json.loads((model_repo / "quickstart" / "1" / "metadata.json").read_text())
    return honest_request("quickstart", signature["inputs"][0]["name"], np.zeros((rows, 30), dtype=np.float32))


def _gzip_call(client: RawH2, message: bytes) -> bytes:
    sid, client.next_sid = client.next_sid, client.next_sid + 2
    packed = gzip.compress(message)
    return (frame(HEADERS, END_HEADERS, sid, client.headers_block(extra=((b"grpc-encoding", b"gzip"),)))
            + frame(DATA, END_STREAM, sid, b"\1" + struct.pack(">I", len(packed)) + packed))


def test_compressed_messages_in_flight_stay_within_the_byte_budget(launch, model_repo, honest):
    """48 calls of ~4 KiB on the wire, each a 4 MiB tensor inflated, on one connection that reads every
    answer: before, every one was inflated and decoded at once (hundreds of MB); now what is in flight stays
    within the budget and the rest are told to retry."""
    server = launch(model_repo, **SMALL)
    message = _rows_request(model_repo, (4 * MIB - 4096) // 120)
    assert len(gzip.compress(message)) < 16 * 1024
    with Prober(server, honest) as prober, RawH2(server.grpc_port, preface=False) as client:
        window = (1 << 31) - 1  # the client reads every answer: the largest windows
        client.send(PREFACE + frame(SETTINGS, 0, 0, struct.pack(">HI", 4, window))
                    + frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", window - 65535)))
        client.send(b"".join(_gzip_call(client, message) for _ in range(48)))
        assert until(lambda: len(client.status) == 48, 60), f"{len(client.status)} of 48 calls answered"
    codes = [code for code, _ in client.status.values()]
    assert set(codes) <= {Status.OK, Status.UNAVAILABLE}, client.status
    assert codes.count(Status.OK) >= 1
    report = prober.report
    print(f"\n48 gzip bombs of 4 MiB: {codes.count(Status.OK)} OK, {codes.count(Status.UNAVAILABLE)} UNAVAILABLE; "
          f"{report.summary()}")
    assert report.rss_peak_mb - report.rss_before_mb < 120, report.summary()
    report.check()
    assert_serves(server, honest)


def test_a_compressed_message_cut_short_is_refused(launch, model_repo, honest):
    server = launch(model_repo)
    with RawH2(server.grpc_port) as client:
        packed = gzip.compress(honest)[:-12]  # the deflate stream's end and the gzip trailer are missing
        client.send(frame(HEADERS, END_HEADERS, 1, client.headers_block(extra=((b"grpc-encoding", b"gzip"),)))
                    + frame(DATA, END_STREAM, 1, b"\1" + struct.pack(">I", len(packed)) + packed))
        assert until(lambda: 1 in client.status, 5)
        assert client.status[1][0] == Status.INVALID_ARGUMENT, client.status
        assert "end" in client.status[1][1]


def test_a_client_that_never_reads_its_answers_is_refused_then_closed(launch, model_repo, honest):
    """Window 0 for every stream, and new calls all the time (so the connection is never idle): the answers
    pile up in the server. They are bounded: new calls are refused and the connection is closed once the
    answers held pass the budget (or stay unread for message_timeout_s); an honest client is served meanwhile."""
    server = launch(model_repo, max_body_bytes=4 * MIB,
                    grpc_limits={"max_buffered_bytes": 8 * MIB, "message_timeout_s": 3.0})
    message = _rows_request(model_repo, 20_000)  # 2.4 MB inflated, ~2 KiB sent, a ~0.3 MB answer
    with RawH2(server.grpc_port, preface=False) as client:
        client.send(PREFACE + frame(SETTINGS, 0, 0, struct.pack(">HI", 4, 0)))
        deadline = time.monotonic() + 20
        sent = 0
        while time.monotonic() < deadline and not client.closed.is_set() and client.goaway is None:
            client.send(_gzip_call(client, message))
            sent += 1
            time.sleep(0.05)
        assert client.goaway in (ENHANCE_YOUR_CALM, NO_ERROR), (
            f"{sent} calls sent, their answers never read, and the connection still open")
        print(f"\nslow reader: closed with GOAWAY {client.goaway} after {sent} calls; "
              f"{sum(1 for c in client.resets.values() if c == REFUSED_STREAM)} refused")
    assert_serves(server, honest)


def test_flow_control_errors(launch, model_repo):
    server = launch(model_repo)
    with RawH2(server.grpc_port) as client:  # a connection WINDOW_UPDATE of 0
        client.send(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0)))
        assert client.wait_closed(5) and client.goaway == PROTOCOL_ERROR
    with RawH2(server.grpc_port) as client:  # a stream WINDOW_UPDATE of 0, then one past 2^31-1
        one, two = client.open_stream(), client.open_stream()
        client.send(frame(WINDOW_UPDATE, 0, one, struct.pack(">I", 0))
                    + frame(WINDOW_UPDATE, 0, two, struct.pack(">I", (1 << 31) - 1)))
        assert until(lambda: len(client.resets) == 2, 5), client.resets
        assert client.resets == {one: PROTOCOL_ERROR, two: FLOW_CONTROL_ERROR}
        assert client.goaway is None
    with RawH2(server.grpc_port) as client:  # SETTINGS_INITIAL_WINDOW_SIZE that overflows an open stream
        sid = client.open_stream()
        client.send(frame(WINDOW_UPDATE, 0, sid, struct.pack(">I", (1 << 31) - 1 - 65535))
                    + frame(SETTINGS, 0, 0, struct.pack(">HI", 4, 65536)))
        assert client.wait_closed(5) and client.goaway == FLOW_CONTROL_ERROR


def test_large_messages_cannot_take_the_room_small_calls_need(launch, model_repo, honest):
    """Partial large messages fill the budget to a few KiB below its end: a small call (one frame) still
    fits, since large and compressed messages are held to the budget less a headroom kept for small ones (without
    it, now that complete messages are charged too, the small call would be refused)."""
    server = launch(model_repo, **SMALL)
    chunk = 16 * 1024 - 9
    with RawH2(server.grpc_port) as hog, RawH2(server.grpc_port) as client:
        declared = 4 * MIB - 5
        total = 8 * MIB - 4 * 1024  # just below the budget: before, only calls of under 4 KiB still fitted
        for sid in (1, 3):
            sent = 5
            hog.send(frame(HEADERS, END_HEADERS, sid, hog.headers_block())
                     + frame(DATA, 0, sid, b"\0" + struct.pack(">I", declared)))
            while sent < min(total // 2, declared):
                n = min(chunk, total // 2 - sent)
                hog.send(frame(DATA, 0, sid, b"\0" * n))
                sent += n
        time.sleep(0.5)
        message = _rows_request(model_repo, 80)  # ~9.6 KiB: one frame
        assert 8 * 1024 < len(message) < 16 * 1024 - 20, len(message)
        client.send(client.call(message))
        assert until(lambda: 1 in client.status, 10)
        assert client.status[1][0] == Status.OK, client.status
