"""The Grafana dashboard: pinned schema version, validated against Grafana 11.6's dashboard model, explicit
refIds, template variables, the panels the model server needs, metric names from the runtime module."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from mlready.engine import api
from mlready.engine.errors import SpecError
from mlready.generators.monitoring import dashboard as dash
from mlready.runtime import metrics as m

from .grafana_schema import GRAFANA_VERSION, dashboard_problems, sdk_grafana_version

PANELS = ["Request rate", "Error ratio", "Latency p50 / p95 / p99", "Queue time vs inference time", "Batch size",
          "In-flight requests", "Loaded versions per model", "Replicas", "CPU", "Memory"]


@pytest.fixture(scope="module")
def doc(built: Path) -> dict:
    return json.loads((built / "monitoring/grafana/dashboards/quickstart.json").read_text())


def test_schema_version_is_pinned_to_the_sdks_grafana(doc: dict) -> None:
    assert sdk_grafana_version().startswith(GRAFANA_VERSION) and dash.GRAFANA_VERSION == GRAFANA_VERSION
    assert doc["schemaVersion"] == dash.SCHEMA_VERSION == 41


def test_validates_against_the_pinned_dashboard_schema(doc: dict) -> None:
    assert dashboard_problems(doc) == []


def test_the_validator_rejects_what_grafana_would_not_read(doc: dict) -> None:
    broken = json.loads(json.dumps(doc))
    broken["panels"][0]["gridPos"]["w"] = "12"
    broken["panels"][1]["colour"] = "red"
    broken["templating"]["list"][1]["refresh"] = 9
    assert dashboard_problems(broken) == [
        "dashboard.panels[1].colour: not in the Grafana 11.6 dashboard schema",
        "dashboard.panels[0].grid_pos.w: '12' is not <class 'int'>",
        "dashboard.templating.list_val[1].refresh: 9 is not "
        "typing.Optional[grafana_foundation_sdk.models.dashboard.VariableRefresh]",
    ]


def test_panels_and_explicit_ref_ids(doc: dict) -> None:
    assert [p["title"] for p in doc["panels"]] == PANELS
    assert len({p["id"] for p in doc["panels"]}) == len(PANELS)
    for p in doc["panels"]:
        refs = [t["refId"] for t in p["targets"]]
        assert refs == list("ABCDEFGH"[: len(refs)]), p["title"]
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert all(t["datasource"] == p["datasource"] for t in p["targets"])
    latency = doc["panels"][2]["targets"]
    assert [t["legendFormat"] for t in latency] == ["p50", "p95", "p99"]
    assert all(t["expr"].startswith("histogram_quantile(") for t in latency)
    # the SLO from the spec is drawn as a threshold
    assert doc["panels"][2]["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"] == 0.25
    assert doc["panels"][1]["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"] == 0.02


def test_template_variables(doc: dict) -> None:
    variables = {v["name"]: v for v in doc["templating"]["list"]}
    assert list(variables) == ["datasource", "model", "version", "job"]
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    assert variables["model"]["current"] == {"text": "quickstart", "value": "quickstart"}
    assert variables["version"]["multi"] and variables["version"]["allValue"] == ".*"
    exprs = [t["expr"] for p in doc["panels"] for t in p["targets"]]
    assert sum('model="$model"' in e for e in exprs) >= 6 and sum('version=~"$version"' in e for e in exprs) >= 5


def test_every_metric_name_comes_from_the_runtime_module(doc: dict) -> None:
    known = set()
    for name, (kind, _, _) in m.METRICS.items():
        known |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"} if kind == "histogram" else {name}
    used = {n for p in doc["panels"] for t in p["targets"] for n in re.findall(r"\bmlready_[a-z_]+", t["expr"])}
    assert used and used <= known, used - known
    assert {m.REQUESTS_TOTAL, m.MODEL_VERSION_STATE, m.INFLIGHT_REQUESTS, f"{m.BATCH_SIZE}_bucket",
            f"{m.QUEUE_DURATION}_bucket", f"{m.INFERENCE_DURATION}_bucket"} <= used


def test_provisioning_files(built: Path) -> None:
    ds = yaml.safe_load((built / "monitoring/grafana/provisioning/datasources/mlready.yml").read_text())
    assert ds["datasources"] == [{"name": "Prometheus", "type": "prometheus", "access": "proxy",
                                  "url": "http://prometheus:9090", "isDefault": True, "editable": False,
                                  "jsonData": {"timeInterval": "15s"}}]
    prov = yaml.safe_load((built / "monitoring/grafana/provisioning/dashboards/mlready.yml").read_text())
    assert prov["providers"][0]["folder"] == "mlready"
    assert prov["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards/mlready"


@pytest.mark.parametrize(("override", "message"), [
    ("monitoring.prometheus.slo.p99_latency_seconds=0",
     "override 'monitoring.prometheus.slo.p99_latency_seconds=0' monitoring.prometheus.slo.p99_latency_seconds: "
     "must be > 0.0, got 0"),
    ("monitoring.prometheus.slo.p99_latency_seconds=-1.5",
     "override 'monitoring.prometheus.slo.p99_latency_seconds=-1.5' monitoring.prometheus.slo.p99_latency_seconds:"
     " must be > 0.0, got -1.5"),
    ("monitoring.prometheus.slo.error_ratio=1.5",
     "override 'monitoring.prometheus.slo.error_ratio=1.5' monitoring.prometheus.slo.error_ratio: "
     "must be <= 1.0, got 1.5"),
])
def test_an_slo_that_makes_no_sense_is_a_spec_error(project: Path, override: str, message: str) -> None:
    with pytest.raises(SpecError) as err:
        api.validate(project, ["+monitoring=grafana", override])
    assert [str(p) for p in err.value.problems] == [message]


QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
FEEDBACK = ["+monitoring=grafana", "serving.feedback.enabled=true", "tracking.enabled=false"]


def spec_dashboard_and_rules(gates: list[str]) -> tuple[dict, set[str]]:
    """The dashboard of the quickstart with the server taking feedback and ``gates``, and the series its rule
    groups record."""
    from mlready.generators._shared.alerts import alert_rule_groups

    spec, _ = api.compose_config(QUICKSTART, [*FEEDBACK, f"readiness.gates={gates}"])
    doc = dash.dashboard(spec, spec.section("monitoring.grafana"), spec.section("monitoring.prometheus"))
    recorded = {r["record"] for g in alert_rule_groups(spec) for r in g["rules"] if "record" in r}
    return doc, recorded


def accuracy_panels(doc: dict) -> list[dict]:
    return [p for p in doc["panels"] if any("feedback" in t["expr"] for t in p["targets"])]


def steps(panel: dict) -> list[tuple[str, float | None]]:
    return [(s["color"], s["value"]) for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]]


def test_live_accuracy_panels_per_gated_metric_with_the_gates_as_thresholds() -> None:
    doc, recorded = spec_dashboard_and_rules(
        ["f1 >= 0.95", "accuracy >= 0.9", "f1 > 0.9", "precision_macro <= 0.999", "auc >= 0.9", "accuracy == 1"])
    panels = accuracy_panels(doc)
    assert [p["title"] for p in panels] == [
        "Live f1", "Live accuracy", "Live precision_macro", "Live precision / recall / F1 per class",
        "Labelled rows per window", "Feedback ids by outcome"]  # auc, accuracy == 1: build-only, not drawn
    assert dashboard_problems(doc) == []
    assert [p["id"] for p in doc["panels"]] == list(range(1, len(doc["panels"]) + 1))
    assert doc["panels"][-len(panels):] == panels  # after the operational and drift panels
    live = {p["title"]: p for p in panels}
    # a dashed line per gate bound; green where every gate on the metric passes, red elsewhere
    assert steps(live["Live f1"]) == [("red", None), ("red", 0.9), ("green", 0.95)]
    assert steps(live["Live accuracy"]) == [("red", None), ("green", 0.9)]
    assert steps(live["Live precision_macro"]) == [("green", None), ("red", 0.999)]
    assert live["Live f1"]["fieldConfig"]["defaults"]["custom"] == {"thresholdsStyle": {"mode": "dashed"}}
    assert "f1 >= 0.95 and f1 > 0.9" in live["Live f1"]["description"]
    assert steps(live["Labelled rows per window"]) == [("orange", None), ("green", 100)]
    assert [t["expr"] for t in live["Live f1"]["targets"]] == ['mlready:feedback_f1{model="$model"}']
    assert [t["refId"] for t in live["Live precision / recall / F1 per class"]["targets"]] == ["A", "B", "C"]
    # every series a panel reads is one the rules record (the ones the live alerts read), or the runtime exports
    used = {n for p in panels for t in p["targets"] for n in re.findall(r"\bmlready[:_][a-z0-9_]+", t["expr"])}
    assert used == {"mlready:feedback_f1", "mlready:feedback_accuracy", "mlready:feedback_precision_macro",
                    "mlready:feedback_class_precision", "mlready:feedback_class_recall", "mlready:feedback_class_f1",
                    "mlready:feedback_rows", m.FEEDBACK_IDS_TOTAL}
    assert used - {m.FEEDBACK_IDS_TOTAL} <= recorded


def test_regression_gates_get_error_panels_and_no_per_class_panel() -> None:
    doc, recorded = spec_dashboard_and_rules(["rmse <= 2", "mae < 1.5", "rmse <= 3"])
    panels = accuracy_panels(doc)
    assert [p["title"] for p in panels] == ["Live rmse", "Live mae", "Labelled rows per window",
                                            "Feedback ids by outcome"]
    assert dashboard_problems(doc) == []
    assert steps(panels[0]) == [("green", None), ("red", 2.0), ("red", 3.0)]
    assert steps(panels[1]) == [("green", None), ("red", 1.5)]
    assert panels[0]["fieldConfig"]["defaults"]["unit"] == "short"
    assert {"mlready:feedback_rmse", "mlready:feedback_mae", "mlready:feedback_rows"} <= recorded


def test_a_range_of_gates_colours_the_band_between_them() -> None:
    doc, _ = spec_dashboard_and_rules(["f1 >= 0.9", "f1 <= 0.999"])
    assert steps(accuracy_panels(doc)[0]) == [("red", None), ("green", 0.9), ("red", 0.999)]


@pytest.mark.parametrize("overrides", [
    ["readiness.gates=['f1 >= 0.95']"],  # the server takes no feedback
    ["serving.feedback.enabled=true", "readiness.gates=['auc >= 0.9']"],  # no gate live feedback can check
    ["serving.feedback.enabled=true", "readiness.gates=['f1 >= 0.95']", "monitoring.prometheus.accuracy.enabled=false"],
])
def test_no_accuracy_panels_without_live_accuracy_rules(overrides: list[str]) -> None:
    spec, _ = api.compose_config(QUICKSTART, ["+monitoring=grafana", "tracking.enabled=false", *overrides])
    doc = dash.dashboard(spec, spec.section("monitoring.grafana"), spec.section("monitoring.prometheus"))
    assert accuracy_panels(doc) == []
