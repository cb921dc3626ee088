"""End to end, on 127.0.0.1: the live accuracy alert from a readiness gate reaches a webhook.

A build of the quickstart with ``serving.feedback`` on and the gates ``accuracy >= 0.9``, ``f1 >= 0.9``; a real
mlready server (the runtime's entry point, the feedback section of the build's runtime config) serving the built
model; a real Prometheus (Debian ``prometheus``) scraping it with the generated rule file; a real Alertmanager
(Debian ``prometheus-alertmanager``) routing to a local webhook receiver. Right labels posted through the feedback
API: live accuracy 1, no alert. Wrong labels: MlreadyLiveGateFailing{metric="accuracy"} fires and the webhook gets it
(short windows; every wait bounded). Every query of the dashboard's accuracy panels returns data once labels
are in; for examples/regression too (mae / rmse panels), where they read the error the posted values carry."""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mlready.generators.monitoring.dashboard import panel_queries

from tests.monitoring import alerting
from tests.monitoring.conftest import QUICKSTART, build_quickstart
from tests.monitoring.test_end_to_end import free_port, get, grafana_vars, query, running

MODEL = "quickstart"
OVERRIDES = ["+monitoring=grafana", "serving.feedback.enabled=true", "readiness.gates=['accuracy >= 0.9','f1 >= 0.9']",
             "monitoring.prometheus.accuracy.window=30s", "monitoring.prometheus.accuracy.alert_for=2s",
             "monitoring.prometheus.accuracy.min_rows=20"]
pytestmark = [pytest.mark.server, pytest.mark.tools, pytest.mark.slow]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_quickstart(tmp_path_factory, "accuracy-e2e", [*OVERRIDES, "tracking.enabled=false"])


@pytest.fixture(scope="module")
def server(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(built, MODEL, tmp_path_factory) as url:
        yield url


@contextlib.contextmanager
def serve(built: Path, model: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real mlready server (the runtime's entry point) serving the built model, feedback on; its URL."""
    repo = tmp_path_factory.mktemp("repository")
    version = repo / model / "1"
    version.mkdir(parents=True)
    shutil.copy(built / "model" / "model.onnx", version / "model.onnx")
    shutil.copy(built / "model" / "signature.json", version / "metadata.json")  # the class names
    http = free_port()
    built_config = json.loads((built / "runtime" / "config.json").read_text())
    assert built_config["feedback"]["enabled"] is True  # the spec's serving.feedback reached the runtime config
    config = {"model_repository": str(repo), "host": "127.0.0.1", "http_port": http, "grpc_port": None,
              "feedback": built_config["feedback"]}
    work = tmp_path_factory.mktemp("server")
    (work / "config.json").write_text(json.dumps(config))
    argv = [sys.executable, "-m", "mlready.runtime", "--config", str(work / "config.json")]
    with running(argv, work / "server.log", f"http://127.0.0.1:{http}/v2/health/ready", 90):
        yield f"http://127.0.0.1:{http}"


@pytest.fixture(scope="module")
def webhook() -> Iterator[alerting.Webhook]:
    with alerting.webhook() as hook:
        yield hook


@pytest.fixture(scope="module")
def alertmanager(webhook: alerting.Webhook, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with alerting.alertmanager(tmp_path_factory.mktemp("alertmanager"), webhook.url, ["alertname", "model"]) as am:
        yield am


@pytest.fixture(scope="module")
def prometheus(built: Path, server: str, alertmanager: str, tmp_path_factory) -> Iterator[str]:
    with alerting.prometheus(tmp_path_factory.mktemp("prometheus"), built / "monitoring/prometheus/rules.yml",
                             server.removeprefix("http://"), alertmanager) as prom:
        yield prom


def post(url: str, body: dict, headers: dict | None = None) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310 - loopback only
        return json.loads(r.read())


def predictions(server: str, n: int, prefix: str, model: str = MODEL) -> dict[str, Any]:
    """``n`` one-row predictions under ids ``<prefix>-<i>``: id -> what the server answered (the class label, or
    a regression model's value)."""
    meta = json.loads(get(f"{server}/v2/models/{model}"))
    width = meta["inputs"][0]["shape"][-1]
    out = {}
    for i in range(n):
        row = [0.1 * ((i % 7) + 1)] * width
        answer = post(f"{server}/v1/models/{model}:predict", {"instances": [row]}, {"X-Request-Id": f"{prefix}-{i}"})
        got = answer["predictions"][0]
        out[f"{prefix}-{i}"] = str(got["label"]) if isinstance(got, dict) and "label" in got else got
    return out


def accuracy_panels(built: Path, project: str = MODEL) -> list[tuple[str, str, str]]:
    """(title, refId, expr) of the generated dashboard's live accuracy panels (they read the feedback series)."""
    doc = json.loads((built / f"monitoring/grafana/dashboards/{project}.json").read_text())
    return [(t, r, e) for t, r, e in panel_queries(doc) if "feedback" in e]


def wait_until(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.5)
    raise TimeoutError(f"{what} within {seconds}s")


def test_wrong_labels_fire_the_accuracy_alert_and_reach_the_webhook(built: Path, server: str, prometheus: str,
                                                                     webhook: alerting.Webhook) -> None:
    classes = json.loads((built / "model" / "signature.json").read_text())["class_names"]
    other = {classes[0]: classes[1], classes[1]: classes[0]}
    feedback = f"{server}/v2/models/{MODEL}/feedback"

    right = predictions(server, 40, "right")
    # labels arrive late: Prometheus has scraped the counters at 0 (increase() counts from a first sample)
    wait_until(lambda: query(prometheus, f'mlready_feedback_rows_total{{model="{MODEL}"}} == 0'), 30,
               "the feedback counters scraped at 0")
    labels = [{"id": k, "label": v} for k, v in right.items()] + [{"id": "never-answered", "label": classes[0]}]
    assert post(feedback, {"feedback": labels}) == {"joined": 40, "unknown": 1, "expired": 0, "duplicate": 0}
    acc = wait_until(lambda: query(prometheus, f'mlready:feedback_accuracy{{model="{MODEL}"}}'), 30,
                     "live accuracy recorded")
    assert float(acc[0]["value"][1]) == pytest.approx(1.0)
    panels = accuracy_panels(built)
    assert len(panels) == 7  # live accuracy, live f1, precision / recall / f1 per class, labelled rows, outcomes
    empty = [f"{t} [{r}]: {e}" for t, r, e in panels if not query(prometheus, grafana_vars(e))]
    assert empty == [], "accuracy panels with no data on a loaded server:\n" + "\n".join(empty)
    outcomes = next(e for t, _, e in panels if t == "Feedback ids by outcome")
    counted = {r["metric"]["outcome"]: float(r["value"][1]) for r in query(prometheus, grafana_vars(outcomes))}
    assert counted["joined"] >= 40 and counted["unknown"] >= 1 and counted["expired"] == 0, counted
    time.sleep(4)  # longer than alert_for: a healthy model fires nothing
    assert query(prometheus, 'ALERTS{alertname="MlreadyLiveGateFailing"}') == []
    assert webhook.firing("MlreadyLiveGateFailing") == []

    wrong = predictions(server, 120, "wrong")
    t0 = time.monotonic()
    assert post(feedback, {"feedback": [{"id": k, "label": other[v]} for k, v in wrong.items()]})["joined"] == 120
    fired = wait_until(lambda: [(t, a) for t, a in webhook.firing("MlreadyLiveGateFailing")
                                if a["labels"]["metric"] == "accuracy"], 90, "the accuracy alert at the webhook")
    t, alert = fired[0]
    assert alert["labels"]["model"] == MODEL
    assert "accuracy >= 0.9" in alert["annotations"]["summary"]
    live = float(query(prometheus, f'mlready:feedback_accuracy{{model="{MODEL}"}}')[0]["value"][1])
    assert live < 0.9
    print(f"wrong labels posted -> alert at the webhook: {t - t0:.1f}s (live accuracy {live:.3f})")


REGRESSION = "diabetes-regression"  # examples/regression: project and model
REGRESSION_OVERRIDES = ["+monitoring=grafana", "serving.feedback.enabled=true", "tracking.enabled=false",
                        "readiness.gates=['mae <= 50','rmse <= 70']", "monitoring.prometheus.accuracy.window=30s",
                        "monitoring.prometheus.accuracy.min_rows=20"]


@pytest.fixture(scope="module")
def regression(alertmanager: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, str]]:
    """examples/regression built with feedback and error gates, served, scraped: (build dir, server, Prometheus)."""
    built = build_quickstart(tmp_path_factory, "accuracy-regression", REGRESSION_OVERRIDES,
                             QUICKSTART.parent / "regression")
    with (serve(built, REGRESSION, tmp_path_factory) as url,
          alerting.prometheus(tmp_path_factory.mktemp("prometheus-regression"), built / "monitoring/prometheus/rules.yml",
                              url.removeprefix("http://"), alertmanager) as prom):
        yield built, url, prom


def test_every_regression_accuracy_panel_returns_the_errors_posted(regression: tuple[Path, str, str]) -> None:
    built, server, prom = regression
    answered = predictions(server, 30, "reg", REGRESSION)
    assert all(isinstance(v, float) for v in answered.values()), answered
    wait_until(lambda: query(prom, f'mlready_feedback_rows_total{{model="{REGRESSION}"}} == 0'), 30,
               "the feedback counters scraped at 0")
    truth = [{"id": k, "value": v + 2.5} for k, v in answered.items()]  # every answer 2.5 below the truth
    assert post(f"{server}/v2/models/{REGRESSION}/feedback", {"feedback": truth})["joined"] == 30
    wait_until(lambda: query(prom, f'mlready:feedback_mae{{model="{REGRESSION}"}}'), 30, "live mae recorded")
    panels = accuracy_panels(built, REGRESSION)
    assert len(panels) == 4  # live mae, live rmse, labelled rows, outcomes
    got = {t: query(prom, e.replace("$model", REGRESSION)) for t, _, e in panels}
    assert [t for t, series in got.items() if not series] == [], "accuracy panels with no data on a loaded server"
    assert float(got["Live mae"][0]["value"][1]) == pytest.approx(2.5)
    assert float(got["Live rmse"][0]["value"][1]) == pytest.approx(2.5)
