"""Live drift end to end (issue 16 §2), real components on 127.0.0.1: the mlready server (the runtime's own entry
point, with the runtime config the build wrote: drift counting against the baked training reference), a real
Prometheus (Debian ``prometheus``) scraping it with the generated recording and alert rules, a real Alertmanager
(Debian ``prometheus-alertmanager``) routing to a local webhook receiver.

In-distribution traffic (rows of the training data) fires no drift alert and every drift panel query returns
data; shifted traffic (the same rows, every feature x3) fires MlreadyFeatureDrift and MlreadyPredictionShift and
the receiver gets them. The build uses short windows (20 s, for 5 s, 20 rows: ``DRIFT_OVERRIDES``)."""

from __future__ import annotations

import json
import shutil
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlready.generators.monitoring.dashboard import panel_queries

from tests.monitoring import alerting
from tests.monitoring.test_end_to_end import free_port, query, running

MODEL = "quickstart"
DRIFT_ALERTS = ("MlreadyFeatureDrift", "MlreadyPredictionShift")
pytestmark = [pytest.mark.server, pytest.mark.tools, pytest.mark.slow]


@pytest.fixture(scope="module")
def stack(drift_built: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    work = tmp_path_factory.mktemp("drift-e2e")
    repo = work / "repository" / MODEL / "1"
    repo.mkdir(parents=True)
    shutil.copy(drift_built / "model" / "model.onnx", repo / "model.onnx")
    shutil.copy(drift_built / "model" / "signature.json", repo / "metadata.json")
    http_port, grpc_port = free_port(), free_port()
    config = json.loads((drift_built / "runtime" / "config.json").read_text())
    assert config["models"][MODEL]["drift"]["features"], "the build baked no reference"
    config.update(model_repository=str(work / "repository"), host="127.0.0.1", http_port=http_port,
                  grpc_port=grpc_port, metrics_port=None, poll_interval_s=0)
    (work / "runtime.json").write_text(json.dumps(config))
    server = [sys.executable, "-m", "mlready.runtime", "--config", str(work / "runtime.json")]
    with (alerting.webhook() as hook,
          running(server, work / "server.log", f"http://127.0.0.1:{http_port}/v2/health/ready", 90),
          alerting.alertmanager(work, hook.url, ["alertname", "feature"], send_resolved=False) as am,
          alerting.prometheus(work, drift_built / "monitoring/prometheus/rules.yml", f"127.0.0.1:{http_port}", am,
                              "--rules.alert.resend-delay=1s") as prom):
        yield {"server": f"http://127.0.0.1:{http_port}", "prom": prom, "hook": hook, "work": work}


def send(server: str, rows: np.ndarray, seconds: float, threads: int = 3, per_request: int = 8,
         stop: threading.Event | None = None) -> int:
    """Send random ``rows``, ``per_request`` at a time, from ``threads`` clients for ``seconds`` (or until
    ``stop``)."""
    stop = stop or threading.Event()
    url = f"{server}/v2/models/{MODEL}/infer"
    deadline = time.monotonic() + seconds
    counts = [0] * threads
    failures: list[str] = []

    def client(i: int) -> None:
        rng = np.random.default_rng(i)
        while time.monotonic() < deadline and not failures and not stop.is_set():
            batch = rows[rng.integers(0, len(rows), per_request)]
            body = json.dumps({"inputs": [{"name": "input", "shape": list(batch.shape), "datatype": "FP32",
                                           "data": batch.ravel().tolist()}]}).encode()
            req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310 - loopback only
                    r.read()
            except OSError as exc:
                failures.append(f"{type(exc).__name__}: {exc}")
                return
            counts[i] += per_request
            time.sleep(0.01)

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=seconds + 30)
    assert failures == [], failures
    return sum(counts)


def drift_alerts(prom: str) -> list[dict]:
    names = "|".join(DRIFT_ALERTS)
    return query(prom, f'ALERTS{{alertname=~"{names}"}}')


def test_no_alert_in_distribution_then_shifted_traffic_alerts_through_alertmanager(drift_built: Path,
                                                                                    stack: dict) -> None:
    train = pd.read_csv(drift_built.parent / "data" / "train.csv")
    rows = train.drop(columns=["target"]).to_numpy(np.float32)
    server, prom, hook = stack["server"], stack["prom"], stack["hook"]

    sent = send(server, rows, 28)  # longer than the 20 s window + the 5 s 'for'
    assert sent > 200, f"only {sent} rows sent"
    psi = {r["metric"]["feature"]: float(r["value"][1]) for r in query(prom, "mlready:drift_psi")}
    assert len(psi) == rows.shape[1] + 1 and max(psi.values()) < 0.2, psi
    assert drift_alerts(prom) == [] and hook.received == [], "a drift alert on in-distribution traffic"

    doc = json.loads((drift_built / "monitoring/grafana/dashboards/quickstart.json").read_text())
    drift_panels = [(t, r, e) for t, r, e in panel_queries(doc) if "drift" in e]
    assert len(drift_panels) == 5
    empty = [f"{t} [{r}]: {e}" for t, r, e in drift_panels if not query(prom, e.replace("$model", MODEL))]
    assert empty == [], "drift panels with no data on a loaded server:\n" + "\n".join(empty)

    shifted = rows * np.float32(3.0)
    t0 = time.monotonic()
    stop = threading.Event()
    load = threading.Thread(target=send, args=(server, shifted, 45), kwargs={"stop": stop})
    load.start()
    got: dict[str, float] = {}
    while time.monotonic() - t0 < 45 and set(got) != set(DRIFT_ALERTS):
        for when, payload in hook.received:
            for alert in payload["alerts"]:
                got.setdefault(alert["labels"]["alertname"], when - t0)
        time.sleep(0.2)
    stop.set()
    load.join(timeout=60)
    print("\ndrifted traffic -> alert delivered to the webhook: "
          + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in sorted(got.items())))
    assert set(got) == set(DRIFT_ALERTS), (got, (stack["work"] / "prometheus.log").read_text()[-2000:])
    received = hook.received
    features = {a["labels"].get("feature") for _, p in received for a in p["alerts"]
                if a["labels"]["alertname"] == "MlreadyFeatureDrift"}
    assert "mean_radius" in features
    alert = next(a for _, p in received for a in p["alerts"] if a["labels"]["alertname"] == "MlreadyFeatureDrift")
    assert alert["labels"]["model"] == MODEL and "drift.psi.max <= 0.2" in alert["annotations"]["description"]
