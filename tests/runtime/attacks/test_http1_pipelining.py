"""Issue 20 item 3: one connection pipelines requests as fast as it can while reading the answers. uvicorn's
httptools protocol kept reading while its pipeline queue was full (94 MB -> 2.6 GB in 20 s, almost no answers).
Goal: health checks stay under 100 ms p99 with no failure, memory stays bounded, the attacker is still answered
(at its turn) and the server answers normally after."""

from __future__ import annotations

import pytest

from tests.runtime.attacks.http1client import flood, request
from tests.support.prober import Prober, assert_serves

pytestmark = pytest.mark.server

SECONDS = 4.0
RSS_GROWTH_MB = 100  # peak RSS during the attack may exceed the idle server's by at most this


@pytest.mark.parametrize("kind", ["health", "predict"])
def test_pipelining_flood(target, honest, breast_cancer_X, kind):
    import orjson

    if kind == "health":
        one = request("/v2/health/live")
    else:
        body = orjson.dumps({"instances": breast_cancer_X[:1].tolist()})
        one = request("/v1/models/quickstart:predict", "POST", b"Content-Type: application/json\r\n", body)
    with Prober(target, honest) as probe:
        stats = flood(target.http_port, one * max(1, (1 << 16) // len(one)), SECONDS)
    report = probe.report
    print(f"pipelining {kind}: {report.summary()}; {stats}")
    report.check(p99_ms=100, rss_mb=report.rss_before_mb + RSS_GROWTH_MB)
    assert stats["read"] > 0, "the pipelining client got no answer at all"
    assert_serves(target, honest)
