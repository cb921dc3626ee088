"""Issue 20 item 5 on the REST port: nothing is held forever. Partial headers, an idle kept-alive connection and
a partial body time out (``http_limits.header_timeout_s`` / ``body_timeout_s``); connections are capped
(``max_connections``: more wait in the listen backlog, and are served once a slot frees)."""

from __future__ import annotations

import time

import pytest

from tests.runtime.attacks.http1client import Raw, request
from tests.support.prober import Prober, assert_serves

pytestmark = pytest.mark.server

FAST = {"header_timeout_s": 1.0, "body_timeout_s": 1.0}


def test_partial_headers_time_out(launch, model_repo):
    server = launch(model_repo, http_limits=FAST)
    with Raw(server.http_port) as c:
        c.send(b"GET /v2/health/ready HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        assert c.closed_within(4), "a connection that never finished its headers was held"


def test_an_idle_connection_is_closed_and_a_busy_one_is_not(launch, model_repo):
    server = launch(model_repo, http_limits=FAST)
    with Raw(server.http_port) as idle:
        assert idle.closed_within(4), "an idle kept-alive connection was held"
    with Raw(server.http_port) as busy:
        for _ in range(6):
            busy.send(request())
            assert busy.status() == 200
            time.sleep(0.3)


def test_partial_body_times_out_with_408(launch, model_repo):
    server = launch(model_repo, http_limits=FAST)
    with Raw(server.http_port) as c:
        t0 = time.monotonic()
        c.send(request("/v1/models/quickstart:predict", "POST", body=b'{"instances": [', length=1000))
        status = c.status()
        assert status == 408, status
        assert time.monotonic() - t0 < 4
        assert c.closed_within(2), "the connection with an unfinished body was kept open"


def test_many_slow_connections_do_not_stall_health(launch, model_repo, honest):
    """20 connections each holding an unfinished 8 MiB body: health stays fast, and they all time out."""
    server = launch(model_repo, http_limits=FAST)
    with Prober(server, honest) as probe:
        clients = [Raw(server.http_port) for _ in range(20)]
        for c in clients:
            c.send(request("/v1/models/quickstart:predict", "POST", body=b"[" * 1000, length=8 << 20))
        statuses = [c.status() for c in clients]
        for c in clients:
            c.sock.close()
    probe.report.check(p99_ms=100)
    assert all(s in (408, 503) for s in statuses), statuses
    assert_serves(server, honest)


def test_connection_cap(launch, model_repo):
    server = launch(model_repo, http_limits={"max_connections": 4, "header_timeout_s": 1.5})
    holders = [Raw(server.http_port) for _ in range(4)]
    try:
        for h in holders:  # each is accepted and served: the server has 4 open connections
            h.send(request())
            assert h.status() == 200
        with Raw(server.http_port) as extra:  # the 5th waits in the backlog until an idle one times out
            t0 = time.monotonic()
            extra.send(request())
            assert extra.status() == 200
            waited = time.monotonic() - t0
        assert waited > 0.8, f"a 5th connection was served at once ({waited:.2f} s) over a cap of 4"
    finally:
        for h in holders:
            h.sock.close()


def test_sigterm_does_not_wait_for_a_body_that_never_comes(launch, model_repo):
    """A client that stopped sending its body must not hold the drain for the whole body timeout."""
    server = launch(model_repo, drain_seconds=20)
    with Raw(server.http_port) as c:
        c.send(request("/v1/models/quickstart:predict", "POST", body=b"{", length=1000))
        time.sleep(0.3)
        t0 = time.monotonic()
        assert server.stop(timeout=15) == 0
        assert time.monotonic() - t0 < 5, "the drain waited for a body that never came"


def test_sigterm_does_not_wait_for_a_client_that_never_reads(launch, model_repo, breast_cancer_X):
    """A client that never reads its (large) answer must not hold the shutdown."""
    import socket

    import numpy as np
    import orjson

    server = launch(model_repo, drain_seconds=20)
    body = orjson.dumps({"instances": np.repeat(breast_cancer_X[:1], 20000, axis=0).tolist()})
    with Raw(server.http_port) as c:
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.send(request("/v1/models/quickstart:predict", "POST", body=body))
        time.sleep(2)  # answered, and stuck in the socket buffers
        t0 = time.monotonic()
        assert server.stop(timeout=15) == 0
        assert time.monotonic() - t0 < 5, "the drain waited for a client that never reads"
