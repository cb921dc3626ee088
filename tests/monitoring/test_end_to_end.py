"""End to end: a real Prometheus (Debian's ``prometheus``) scrapes a real mlready server (the runtime's own entry
point, serving the model the build made) under a short, bounded load on 127.0.0.1; every dashboard panel
expression and every alert's signal is evaluated through Prometheus' HTTP API and must return data."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from mlready.generators._shared.alerts import alerts
from mlready.generators.monitoring.dashboard import panel_queries
from mlready.generators.monitoring.spec import PrometheusSpec

from tests.support.ports import free_port

MODEL = "quickstart"
LOAD_SECONDS = 12
SCRAPE = "1s"
RATE_INTERVAL = "30s"  # what Grafana's $__rate_interval becomes for a 1s scrape interval on a short range
#: the target labels a Kubernetes scrape gives a pod's series (the autoscaling queries select by them); the pod
#: is named like a KServe predictor pod, whose KEDA query selects by pod name
TARGET_LABELS = {"namespace": "quickstart-prod", "service": "quickstart", "pod": "quickstart-predictor-7d4b9c-x2k8q"}
pytestmark = [pytest.mark.server, pytest.mark.tools, pytest.mark.slow]



def get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 - loopback only
        return r.read()


def wait_for(url: str, proc: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before {url} answered")
        try:
            get(url, timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {seconds}s")


@contextlib.contextmanager
def running(argv: list[str], log: Path, ready_url: str, seconds: float) -> Iterator[None]:
    """Run ``argv`` (output to ``log``) for the duration of the block, entered once ``ready_url`` answers."""
    with log.open("w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for(ready_url, proc, seconds)
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


@pytest.fixture(scope="module")
def server(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    repo = tmp_path_factory.mktemp("repository")
    (repo / MODEL / "1").mkdir(parents=True)
    shutil.copy(built / "model" / "model.onnx", repo / MODEL / "1" / "model.onnx")
    http, grpc = free_port(), free_port()
    argv = [sys.executable, "-m", "mlready.runtime", "--model-repository", str(repo), "--host", "127.0.0.1",
            "--http-port", str(http), "--grpc-port", str(grpc)]
    with running(argv, tmp_path_factory.mktemp("logs") / "server.log", f"http://127.0.0.1:{http}/v2/health/ready", 90):
        yield f"127.0.0.1:{http}"


@pytest.fixture(scope="module")
def prometheus(server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("prometheus")
    config = {"global": {"scrape_interval": SCRAPE, "evaluation_interval": SCRAPE},
              "scrape_configs": [{"job_name": "mlready", "static_configs": [{"targets": [server], "labels": TARGET_LABELS}]}]}
    (work / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    argv = ["prometheus", f"--config.file={work / 'prometheus.yml'}", f"--storage.tsdb.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}"]
    with running(argv, work / "prometheus.log", f"http://127.0.0.1:{port}/-/ready", 60):
        yield f"http://127.0.0.1:{port}"


def load(server: str, seconds: float, threads: int = 4) -> int:
    """Bounded load: ``threads`` clients sending v2 inference requests for ``seconds``; returns the count."""
    meta = json.loads(get(f"http://{server}/v2/models/{MODEL}"))
    tensor = meta["inputs"][0]
    width = tensor["shape"][-1]
    body = json.dumps({"inputs": [{"name": tensor["name"], "shape": [2, width], "datatype": tensor["datatype"],
                                   "data": [0.1] * (2 * width)}]}).encode()
    url = f"http://{server}/v2/models/{MODEL}/infer"
    deadline = time.monotonic() + seconds
    counts = [0] * threads
    failures: list[str] = []

    def client(i: int) -> None:
        while time.monotonic() < deadline and not failures:
            req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310 - loopback only
                    r.read()
            except OSError as exc:
                failures.append(f"{type(exc).__name__}: {exc}")
                return
            counts[i] += 1

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=seconds + 30)
    assert failures == [], failures
    return sum(counts)


def query(prom: str, expr: str) -> list[dict]:
    out = json.loads(get(f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr})))
    assert out["status"] == "success", out
    return out["data"]["result"]


def grafana_vars(expr: str) -> str:
    for var, value in (("$__rate_interval", RATE_INTERVAL), ("$model", MODEL), ("$version", ".*"),
                       ("$job", "mlready")):
        expr = expr.replace(var, value)
    return expr


@pytest.fixture(scope="module")
def loaded(server: str, prometheus: str) -> str:
    sent = load(server, LOAD_SECONDS)
    assert sent > 50, f"only {sent} requests in {LOAD_SECONDS}s"
    time.sleep(3)  # a few more scrapes after the load
    return prometheus


def test_prometheus_scrapes_the_server(loaded: str) -> None:
    up = query(loaded, 'up{job="mlready"}')
    assert [r["value"][1] for r in up] == ["1"]


def test_every_dashboard_panel_returns_data(built: Path, loaded: str) -> None:
    doc = json.loads((built / "monitoring/grafana/dashboards/quickstart.json").read_text())
    titles = [title for title, _, _ in panel_queries(doc)]
    assert {"CPU", "Memory"} <= set(titles)  # the process metrics the runtime exports next to its own
    empty = [f"{title} [{ref}]: {grafana_vars(expr)}" for title, ref, expr in panel_queries(doc)
             if not query(loaded, grafana_vars(expr))]
    assert empty == [], "panels with no data on a healthy, loaded server:\n" + "\n".join(empty)


def test_every_alert_signal_returns_data_and_a_healthy_server_fires_nothing(built: Path, loaded: str) -> None:
    rules = yaml.safe_load((built / "monitoring/prometheus/rules.yml").read_text())["groups"][0]["rules"]
    cfg = PrometheusSpec(enabled=True, slo={"p99_latency_seconds": 0.25, "error_ratio": 0.02})
    built_alerts = alerts(MODEL, cfg)
    assert [a.expr for a in built_alerts] == [r["expr"] for r in rules]  # the file is what is tested here
    for a in built_alerts:
        assert query(loaded, a.signal), f"{a.name}: its signal has no data: {a.signal}"
        if a.name != "MlreadyLatencyP99AboveSLO":  # latency depends on the shared machine's load
            assert query(loaded, a.expr) == [], f"{a.name} fires on a healthy server"


@pytest.mark.parametrize("metric", ["inflight", "queue_time", "rps"])
def test_every_autoscaling_query_returns_data(loaded: str, metric: str) -> None:
    """The PromQL of the KEDA prometheus trigger (k8s bundle and KServe's KEDA route) and of the
    prometheus-adapter rule (its template filled the way the adapter fills it for one pod) return a finite
    number on the loaded server."""
    from mlready.generators._shared.k8s_autoscaling import adapter_rule, predictor_query
    from mlready.generators._shared.k8s_autoscaling import query as trigger_query

    keda = trigger_query(metric, TARGET_LABELS["namespace"], TARGET_LABELS["service"])
    kserve = predictor_query(metric, TARGET_LABELS["namespace"], MODEL)  # KServe's KEDA route, by pod name
    rule = adapter_rule(metric)
    adapter = (rule["metricsQuery"]
               .replace("<<.LabelMatchers>>", f'namespace="{TARGET_LABELS["namespace"]}",pod=~"{TARGET_LABELS["pod"]}"')
               .replace("<<.GroupBy>>", "pod"))
    series = rule["seriesQuery"]
    assert query(loaded, series), f"the adapter discovers no series: {series}"
    for expr in (keda, kserve, adapter):
        result = query(loaded, expr)
        assert len(result) == 1, f"{metric}: {expr} -> {result}"
        value = float(result[0]["value"][1])
        assert value == value and value >= 0, f"{metric}: {expr} = {value}"  # finite, not NaN
        if metric == "rps":
            assert value > 0, f"no request rate after the load: {expr}"
    assert query(loaded, adapter)[0]["metric"] == {"pod": TARGET_LABELS["pod"]}  # per pod, as the HPA reads it
