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
