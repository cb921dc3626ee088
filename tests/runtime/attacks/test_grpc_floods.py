"""Issue 20 item 2: frames that cost the attacker nothing (CVE-2019-9512 PING, -9515 SETTINGS, -9518 empty
frames, PRIORITY and unknown types, CVE-2024-27316 endless CONTINUATION), flooded on one connection while the
attacker reads every answer. Goal: health and honest gRPC calls stay under 100 ms p99 with no failure, memory
stays bounded, the flooding connection gets GOAWAY(ENHANCE_YOUR_CALM) and the server answers normally after."""

from __future__ import annotations

import struct
import time

import pytest
from mlready.runtime.grpc_wire import (
    CONTINUATION,
    DATA,
    HEADERS,
    PING,
    PRIORITY,
    SETTINGS,
    WINDOW_UPDATE,
    frame,
)

from tests.runtime.attacks.h2client import ENHANCE_YOUR_CALM, RawH2
from tests.support.prober import Prober, assert_serves

pytestmark = pytest.mark.server

SECONDS = 3.0
RSS_GROWTH_MB = 100  # peak RSS during the attack may exceed the idle server's by at most this


def _repeat(one: bytes, size: int = 1 << 16) -> bytes:
    return one * max(1, size // len(one))


def ping(c: RawH2) -> bytes:
    return _repeat(frame(PING, 0, 0, b"12345678"))


def settings(c: RawH2) -> bytes:
    return _repeat(frame(SETTINGS, 0, 0, struct.pack(">HI", 4, 65535)))


def priority(c: RawH2) -> bytes:
    return _repeat(frame(PRIORITY, 0, 99, struct.pack(">IB", 0, 16)))


def unknown_type(c: RawH2) -> bytes:
    return _repeat(frame(0x42, 0, 0, b""))


def window_update(c: RawH2) -> bytes:
    return _repeat(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 1)))


def empty_data(c: RawH2) -> bytes:
    sid = c.open_stream()  # a call whose message never comes, fed empty DATA frames
    return _repeat(frame(DATA, 0, sid, b""))


def empty_continuation(c: RawH2) -> bytes:
    sid, c.next_sid = c.next_sid, c.next_sid + 2  # a header block that never ends
    c.send(frame(HEADERS, 0, sid, c.headers_block()))
    return _repeat(frame(CONTINUATION, 0, sid, b""))


@pytest.mark.parametrize("flood", [ping, settings, priority, unknown_type, window_update, empty_data,
                                   empty_continuation])
def test_free_frame_flood(target, honest, flood):
    with Prober(target, honest) as probe, RawH2(target.grpc_port) as attacker:
        end = time.monotonic() + SECONDS
        attacker.flood(flood(attacker), SECONDS)
        time.sleep(max(0.5, end - time.monotonic()))  # the probes go on for the attack's whole time
    report = probe.report
    print(f"{flood.__name__}: {report.summary()}; GOAWAY {attacker.goaway}")
    report.check(p99_ms=100, rss_mb=report.rss_before_mb + RSS_GROWTH_MB)
    assert attacker.goaway == ENHANCE_YOUR_CALM, report.summary()
    assert_serves(target, honest)
