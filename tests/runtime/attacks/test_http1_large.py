"""Issue 20 item 6: large requests must not block everyone. Bodies being received and decoded share one byte
budget (``http_limits.decode_budget_bytes``): a body that does not fit is answered 503 at once, before it is
read. Large bodies are decoded on the inference thread pool, not on the event loop."""

from __future__ import annotations

import threading
import time

import numpy as np
import orjson
import pytest

from tests.runtime.attacks.http1client import Raw, request
from tests.support.prober import Prober, assert_serves

pytestmark = pytest.mark.server

MIB = 1 << 20


def test_decode_budget_answers_503_when_exhausted(launch, model_repo, breast_cancer_X):
    server = launch(model_repo, max_body_bytes=8 * MIB, http_limits={"decode_budget_bytes": 12 * MIB})
    path = "/v1/models/quickstart:predict"
    holders = [Raw(server.http_port) for _ in range(2)]
    try:
        for h in holders:  # two 5 MiB bodies, all but their last byte sent: 10 of the 12 MiB budget
            h.send(request(path, "POST", body=b"[" * (5 * MIB - 1), length=5 * MIB))
        time.sleep(0.5)  # let the server take them in
        with Raw(server.http_port) as third:  # 3 more MiB do not fit
            third.send(request(path, "POST", body=b"[" * (3 * MIB), length=3 * MIB))
            status, body = third.response()
        assert status == 503 and b"decode budget" in body, (status, body)
        small = orjson.dumps({"instances": breast_cancer_X[:2].tolist()})
        with Raw(server.http_port) as c:  # a small request still fits
            c.send(request(path, "POST", body=small))
            assert c.status() == 200
    finally:
        for h in holders:
            h.sock.close()
    time.sleep(0.5)
    with Raw(server.http_port) as c:  # the budget is given back when the holders leave
        body = orjson.dumps({"instances": np.repeat(breast_cancer_X[:1], 12000, axis=0).tolist()})
        assert len(body) > 6 * MIB
        c.send(request(path, "POST", body=body))
        status, answer = c.response()
        assert status == 200, answer[:200]


def test_announced_but_unsent_bodies_do_not_take_the_budget(launch, model_repo, breast_cancer_X):
    """A client that announces large bodies and sends nothing holds no budget: honest large requests pass."""
    server = launch(model_repo, max_body_bytes=8 * MIB, http_limits={"decode_budget_bytes": 8 * MIB})
    path = "/v1/models/quickstart:predict"
    squatters = [Raw(server.http_port) for _ in range(8)]
    try:
        for s in squatters:
            s.send(request(path, "POST", body=b"{", length=8 * MIB))
        time.sleep(0.3)
        body = orjson.dumps({"instances": np.repeat(breast_cancer_X[:1], 12000, axis=0).tolist()})
        with Raw(server.http_port) as c:
            c.send(request(path, "POST", body=body))
            status, answer = c.response()
        assert status == 200, answer[:200]
    finally:
        for s in squatters:
            s.sock.close()


STALL_MS = 750  # see below: not the 100 ms goal


def test_large_json_requests_do_not_stall_health(target, honest, breast_cancer_X):
    """Large TF Serving JSON bodies (~16 MB) sent back to back while health is probed. Their decode runs on the
    inference thread pool, so Python-level work interleaves with the event loop; but orjson parses a body in
    one C call that holds the GIL (~150-600 ms for 16 MB here, with its array conversion), which still delays other requests that long.
    Before this change the whole decode ran on the loop: ~1 s p99 here. The 100 ms goal is NOT met for this
    class (runtime/README.md, "REST front end")."""
    rows = np.repeat(breast_cancer_X[:1], 30000, axis=0)
    body = orjson.dumps({"instances": rows.tolist()})
    assert 16 * 10**6 < len(body) < 16 * MIB
    payload = request("/v1/models/quickstart:predict", "POST", body=body)
    statuses = []

    def send_all() -> None:
        for _ in range(3):
            with Raw(target.http_port, timeout=30) as c:
                c.send(payload)
                statuses.append(c.status())

    with Prober(target, honest, timeout=5) as probe:
        worker = threading.Thread(target=send_all)
        worker.start()
        worker.join(60)
    report = probe.report
    print(f"large JSON: {report.summary()}; {statuses}")
    assert statuses == [200, 200, 200], statuses
    report.check(p99_ms=STALL_MS)
    assert_serves(target, honest)
