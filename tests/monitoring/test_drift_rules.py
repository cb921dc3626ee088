"""The live drift rules (issue 16 §2): ``promtool check rules`` and ``promtool test rules`` unit tests that drive
the generated recording rules and the MlreadyFeatureDrift / MlreadyPredictionShift alerts with synthetic drift
counters (named from the runtime's metrics module): the PSI the rules record equals the readiness check's own
PSI of the same shares, and the alerts fire at the build gate's threshold (0.2 here, not the default 0.25)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml
from mlready.generators.readiness.drift import _shares_psi
from mlready.runtime import metrics as m

MODEL = "quickstart"
ROWS = f'{m.DRIFT_ROWS_TOTAL}{{model="{MODEL}",feature="%s",bin="%s",instance="a:8080"}}'
REF = f'{m.DRIFT_REFERENCE_SHARE}{{model="{MODEL}",feature="%s",bin="%s",instance="a:8080"}}'
ALERTS = ["MlreadyFeatureDrift", "MlreadyPredictionShift"]
STEPS = 40  # 5s apart: 200 s of series


def series(feature: str, live: list[int], reference: list[float]) -> list[dict]:
    """A feature with one bin per entry: ``live[b]`` rows per 5 s in bin b, reference share ``reference[b]``."""
    out = []
    for b, (n, r) in enumerate(zip(live, reference, strict=True)):
        out.append({"series": ROWS % (feature, b), "values": f"0+{n}x{STEPS}"})
        out.append({"series": REF % (feature, b), "values": f"{r}x{STEPS}"})
    return out


def psi(live: list[int], reference: list[float]) -> float:
    return _shares_psi(np.array(reference, dtype=float), np.array(live, dtype=float))


def annotations(alert: str, feature: str, value: float) -> dict[str, str]:
    what = "the predictions" if alert == "MlreadyPredictionShift" else f"feature {feature}"
    summary = (f"{MODEL}: the predictions shifted from the training data" if alert == "MlreadyPredictionShift"
               else f"{MODEL}: feature {feature} drifted from the training data")
    return {"summary": summary, "description": f"PSI of {what} is {value:.3f} over 20s (alert > 0.2: the build's "
                                               "gate 'drift.psi.max <= 0.2')."}


def case(name: str, input_series: list[dict], fires: dict[str, list[str]], psis: dict[str, float]) -> dict:
    tests = []
    for alert in ALERTS:
        exp = [{"exp_labels": {"model": MODEL, "feature": f, "severity": "warning"},
                "exp_annotations": annotations(alert, f, psis[f])} for f in fires.get(alert, [])]
        tests.append({"eval_time": "150s", "alertname": alert, "exp_alerts": exp})
    promql = [{"expr": f'mlready:drift_psi{{feature="{f}"}}', "eval_time": "150s",
               "exp_samples": [{"labels": f'mlready:drift_psi{{model="{MODEL}",feature="{f}"}}', "value": v}]}
              for f, v in psis.items()]
    return {"name": name, "interval": "5s", "input_series": input_series, "alert_rule_test": tests,
            "promql_expr_test": promql}


@pytest.fixture(scope="module")
def rules_file(drift_built: Path) -> Path:
    return drift_built / "monitoring/prometheus/rules.yml"


@pytest.mark.tools
def test_promtool_check_rules_with_drift(rules_file: Path) -> None:
    proc = subprocess.run(["promtool", "check", "rules", str(rules_file)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 11 rules found" in proc.stdout  # the 5 operational alerts, 4 recordings, 2 drift alerts


def test_drift_alerts_use_the_build_gate_threshold(rules_file: Path) -> None:
    groups = yaml.safe_load(rules_file.read_text())["groups"]
    drift = {r.get("alert") or r["record"]: r for r in groups[1]["rules"]}
    assert groups[1]["name"] == "mlready-quickstart-drift"
    assert "> 0.2 and" in drift["MlreadyFeatureDrift"]["expr"]
    assert ">= 20" in drift["MlreadyPredictionShift"]["expr"]  # min_rows
    assert "[20s]" in drift["mlready:drift_rows"]["expr"]  # the window
    assert drift["MlreadyFeatureDrift"]["for"] == "5s"
    assert "drift.psi.max <= 0.2" in drift["MlreadyFeatureDrift"]["annotations"]["description"]


@pytest.mark.tools
def test_promtool_unit_tests_drift_fires_at_the_gate_and_only_then(rules_file: Path, tmp_path: Path) -> None:
    ref = [0.5, 0.5]
    same, moderate, between, shifted = [50, 50], [60, 40], [72, 28], [95, 5]
    assert psi(moderate, ref) < 0.2 < psi(between, ref) < 0.25 < psi(shifted, ref)
    pred_ref = [0.37, 0.63, 0.0]  # two classes and __other__ (reference share 0)
    tests = {
        "rule_files": [str(rules_file)],
        "evaluation_interval": "5s",
        "tests": [
            case("in distribution", series("mean_radius", same, ref) + series("__prediction__", [37, 63, 0],
                                                                                pred_ref),
                 {}, {"mean_radius": psi(same, ref), "__prediction__": psi([37, 63, 0], pred_ref)}),
            case("moderate shift: below the gate", series("mean_radius", moderate, ref), {},
                 {"mean_radius": psi(moderate, ref)}),
            case("between the gate (0.2) and the default (0.25): fires", series("mean_radius", between, ref),
                 {"MlreadyFeatureDrift": ["mean_radius"]}, {"mean_radius": psi(between, ref)}),
            case("features drift, predictions shift",
                 series("mean_radius", shifted, ref) + series("mean_texture", same, ref)
                 + series("__prediction__", [10, 60, 30], pred_ref),
                 {"MlreadyFeatureDrift": ["mean_radius"], "MlreadyPredictionShift": ["__prediction__"]},
                 {"mean_radius": psi(shifted, ref), "mean_texture": psi(same, ref),
                  "__prediction__": psi([10, 60, 30], pred_ref)}),
            case("too few rows in the window: no alert", series("mean_radius", [1, 0], ref), {},
                 {"mean_radius": psi([1, 0], ref)}),
        ],
    }
    test_file = tmp_path / "drift_test.yml"
    test_file.write_text(yaml.safe_dump(tests, sort_keys=False))
    proc = subprocess.run(["promtool", "test", "rules", str(test_file)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


@pytest.mark.parametrize(("override", "message"), [
    ("monitoring.prometheus.drift.window=5s",
     "monitoring.prometheus.drift.window: '5s': expected a window between 10s and 90d"),
    ("monitoring.prometheus.drift.window=0m", "monitoring.prometheus.drift.window: '0m': expected a window"),
    ("monitoring.prometheus.drift.window=1 hour", "monitoring.prometheus.drift.window"),
    ("monitoring.prometheus.drift.min_rows=0", "monitoring.prometheus.drift.min_rows"),
    ("monitoring.prometheus.drift.alert_for=soon", "monitoring.prometheus.drift.alert_for"),
    ("readiness.sample.gates=['drift.psi.max <= 0']",
     "readiness.sample.gates[0]: 'drift.psi.max <= 0': PSI is never below 0"),
    ("readiness.sample.gates=['drift.psi.max >= 0.1']",
     "readiness.sample.gates[0]: 'drift.psi.max >= 0.1': a drift gate bounds PSI from above"),
    # alert UIs render the runbook as a link: a javascript: or data: URL would run in the operator's browser
    ("monitoring.prometheus.runbook_url='javascript:alert(1)//'",
     "monitoring.prometheus.runbook_url: 'javascript:alert(1)//' is not an http(s) URL"),
])
def test_a_drift_window_or_threshold_that_makes_no_sense_is_a_spec_error(project: Path, override: str,
                                                                           message: str) -> None:
    from mlready.engine import api
    from mlready.engine.errors import SpecError

    with pytest.raises(SpecError) as err:  # the monitoring fixture's project has no data: give it its train set
        api.validate(project, ["+monitoring=grafana", "data.train=data/train.csv", "data.sample=data/eval.csv",
                               override])
    assert message in str(err.value)


def test_the_dashboard_gets_drift_panels_that_validate(drift_built: Path) -> None:
    import json

    from .grafana_schema import dashboard_problems

    doc = json.loads((drift_built / "monitoring/grafana/dashboards/quickstart.json").read_text())
    assert dashboard_problems(doc) == []
    drift = {p["title"]: p for p in doc["panels"] if "drift" in json.dumps(p["targets"])}
    assert list(drift) == ["Drift per feature (PSI)", "Top drifting features", "Prediction shift (PSI)",
                           "Predicted classes / output bins: live vs reference"]
    steps = drift["Drift per feature (PSI)"]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps[1]["value"] == 0.2  # the gate's threshold
    assert "topk(5, mlready:drift_psi" in drift["Top drifting features"]["targets"][0]["expr"]
