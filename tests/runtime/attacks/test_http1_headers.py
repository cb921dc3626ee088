"""Issue 20 item 4: header limits on the REST port. A 64 MiB header or 200 000 headers used to be accepted
(httptools parses without a limit, and parsing was quadratic: every connection stalled). Now header bytes and
count are capped (``http_limits.max_header_bytes`` / ``max_headers``) and answered 431; a flood of such
requests leaves health checks under 100 ms p99."""

from __future__ import annotations

import pytest

from tests.runtime.attacks.http1client import Raw, flood, request
from tests.support.prober import Prober, assert_serves

pytestmark = pytest.mark.server

SECONDS = 3.0
RSS_GROWTH_MB = 100


def _fields(n: int, size: int = 1) -> bytes:
    return b"".join(b"X-F%d: %s\r\n" % (i, b"v" * size) for i in range(n))


def _status(port: int, data: bytes) -> int | None:
    with Raw(port) as c:
        c.send(data)
        return c.status()


def test_header_bytes_and_count_limits_answer_431(launch, model_repo):
    server = launch(model_repo, http_limits={"max_header_bytes": 16384, "max_headers": 20})
    port = server.http_port
    assert _status(port, request(headers=b"X-Big: " + b"a" * 12000 + b"\r\n")) == 200
    assert _status(port, request(headers=b"X-Big: " + b"a" * 17000 + b"\r\n")) == 431
    assert _status(port, request(headers=_fields(18))) == 200  # + Host = 19 fields
    assert _status(port, request(headers=_fields(25))) == 431
    with Raw(port) as c:  # the body names the problem
        c.send(request(headers=_fields(25)))
        status, body = c.response()
        assert status == 431 and b"header fields" in body, body


def test_default_limits(target):
    port = target.http_port
    assert _status(port, request(headers=b"X-Big: " + b"a" * 60000 + b"\r\n")) == 200
    assert _status(port, request(headers=b"X-Big: " + b"a" * (1 << 20) + b"\r\n")) == 431
    assert _status(port, request(headers=_fields(98))) == 200
    assert _status(port, request(headers=_fields(101))) == 431


@pytest.mark.parametrize("attack", ["64 MiB header", "200000 headers"])
def test_header_flood(target, honest, attack):
    if attack == "64 MiB header":
        payload = b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (64 << 20)
    else:
        payload = b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n" + _fields(200_000)
    with Prober(target, honest) as probe:
        stats = flood(target.http_port, payload, SECONDS)
    report = probe.report
    print(f"{attack}: {report.summary()}; {stats}")
    report.check(p99_ms=100, rss_mb=report.rss_before_mb + RSS_GROWTH_MB)
    assert stats["read"] > 0, "the oversized request was never answered (431)"
    assert_serves(target, honest)
