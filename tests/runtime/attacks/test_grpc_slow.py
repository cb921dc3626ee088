"""Issue 20 item 5 on the gRPC port: nothing is held forever, nothing is buffered without bound. A partial
preface, an idle connection, an unfinished header block and an unfinished message time out; connections are
capped; partial messages across connections share one byte budget; a message larger than the limit is refused
from its 5-byte length prefix, before any of it is buffered."""

from __future__ import annotations

import struct
import time

import pytest
from mlready.runtime.grpc_wire import DATA, END_HEADERS, HEADERS, NO_ERROR, PREFACE, SETTINGS, Status, frame

from tests.runtime.attacks.h2client import RawH2, until
from tests.support.prober import Prober, assert_serves

pytestmark = pytest.mark.server

FAST = {"header_timeout_s": 1.0, "message_timeout_s": 1.0, "idle_timeout_s": 1.0}


def _prefix(length: int) -> bytes:
    return b"\0" + struct.pack(">I", length)


def test_a_partial_preface_times_out(launch, model_repo):
    server = launch(model_repo, grpc_limits=FAST)
    with RawH2(server.grpc_port, preface=False) as client:
        client.send(PREFACE[:10])
        assert client.wait_closed(4), "a connection that never finished its preface was held"


def test_an_idle_connection_gets_goaway_and_is_closed(launch, model_repo, honest):
    server = launch(model_repo, grpc_limits=FAST)
    with RawH2(server.grpc_port) as client:
        assert client.wait_closed(5), "an idle connection was held"
        assert client.goaway == NO_ERROR
    with RawH2(server.grpc_port) as busy:  # a connection that keeps calling is not idle
        for _ in range(8):
            sid = busy.next_sid
            busy.send(busy.call(honest))
            assert until(lambda sid=sid: sid in busy.status, 2) and busy.status[sid][0] == Status.OK
            time.sleep(0.3)
        assert busy.goaway is None


def test_a_client_that_never_opens_a_window_for_its_answers_is_closed(launch, model_repo, honest):
    """Slow read: answers wait for flow-control window the client never gives; they must not pin the
    connection (and its buffered answers) forever."""
    server = launch(model_repo, grpc_limits=FAST)
    with RawH2(server.grpc_port, preface=False) as client:
        client.send(PREFACE + frame(SETTINGS, 0, 0, struct.pack(">HI", 4, 0)))  # stream windows of 0 bytes
        client.send(b"".join(client.call(honest) for _ in range(10)))
        assert client.wait_closed(5), "a connection whose answers could never be sent was held"
        assert client.goaway == NO_ERROR
        assert client.headers_seen == 10  # the answers' HEADERS went out; their DATA waited for a window


def test_an_unfinished_header_block_times_out(launch, model_repo):
    server = launch(model_repo, grpc_limits=FAST)
    with RawH2(server.grpc_port) as client:
        client.send(frame(HEADERS, 0, 1, client.headers_block()))  # no END_HEADERS, no CONTINUATION
        assert client.wait_closed(5), "a connection with an unfinished header block was held"


def test_an_unfinished_frame_times_out(launch, model_repo):
    server = launch(model_repo, grpc_limits={**FAST, "message_timeout_s": 60, "idle_timeout_s": 60})
    with RawH2(server.grpc_port) as client:
        client.send(frame(HEADERS, END_HEADERS, 1, client.headers_block())[:12])  # 3 bytes of the block
        assert client.wait_closed(5), "a connection with half a frame was held"


def test_an_unfinished_message_times_out(launch, model_repo, honest):
    server = launch(model_repo, grpc_limits=FAST)
    with RawH2(server.grpc_port) as client:
        client.send(frame(HEADERS, END_HEADERS, 1, client.headers_block()) + frame(DATA, 0, 1, _prefix(100) + b"x"))
        assert until(lambda: 1 in client.status, 5), "an unfinished message was held"
        assert client.status[1][0] == Status.DEADLINE_EXCEEDED
        sid = client.next_sid = 3
        client.send(client.call(honest))  # the connection itself goes on
        assert until(lambda: sid in client.status, 5) and client.status[sid][0] == Status.OK


def test_an_oversized_message_is_refused_from_its_length_prefix(launch, model_repo):
    server = launch(model_repo, max_body_bytes=1 << 20)
    with RawH2(server.grpc_port) as client:
        client.send(frame(HEADERS, END_HEADERS, 1, client.headers_block()) + frame(DATA, 0, 1, _prefix(100 << 20)))
        assert until(lambda: 1 in client.status, 3), "no answer before the message was sent"
        code, message = client.status[1]
        assert code == Status.RESOURCE_EXHAUSTED and "104857600 bytes" in message


def test_connections_are_capped(launch, model_repo, honest):
    server = launch(model_repo, grpc_limits={"max_connections": 4})
    held = [RawH2(server.grpc_port) for _ in range(4)]
    try:
        time.sleep(0.3)
        with RawH2(server.grpc_port) as extra:
            assert extra.wait_closed(3), "a connection over the limit was accepted"
            assert extra.goaway == NO_ERROR
        assert not any(c.closed.is_set() for c in held)
        held.pop().close()
        time.sleep(0.3)
        assert_serves(server, honest)  # a place came free
    finally:
        for c in held:
            c.close()


def test_partial_messages_on_many_connections_stay_within_the_byte_budget(launch, model_repo, honest):
    """The issue's measurement: 20 connections each holding a 15 MiB partial message pinned ~300 MB."""
    budget_mb = 64
    server = launch(model_repo, grpc_limits={"max_buffered_bytes": budget_mb << 20})
    piece = b"\0" * 16384
    clients = []
    with Prober(server, honest) as probe:
        for _ in range(20):
            c = RawH2(server.grpc_port)
            clients.append(c)
            c.send(frame(HEADERS, END_HEADERS, 1, c.headers_block()) + frame(DATA, 0, 1, _prefix(16 << 20)))
            for _ in range(15):  # 15 MiB of the 16 MiB message, never finished (paced: holding, not flooding)
                c.send(frame(DATA, 0, 1, piece) * 64)
                time.sleep(0.005)
        time.sleep(1)
    try:
        report = probe.report
        refused = sum(c.status.get(1, (None,))[0] == Status.UNAVAILABLE for c in clients)
        print(f"20 x 15 MiB partial messages: {refused} refused; {report.summary()}")
        report.check(p99_ms=100, rss_mb=report.rss_before_mb + budget_mb + 60)
        assert refused >= 20 - budget_mb // 15
        assert_serves(server, honest)
    finally:
        for c in clients:
            c.close()
