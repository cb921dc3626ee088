"""The live accuracy rules (issue 16 §3): the readiness gates compiled into recording and alert rules on the
feedback counters. ``promtool test rules`` drives them with synthetic counters (named from the runtime's metrics
module): the metrics the rules record equal the build's own scoring (``_shared/scoring.py``) of the same
confusion matrix, and ``MlreadyLiveGateFailing`` fires when a live metric fails its gate with enough labelled
rows, and only then."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml
from mlready.generators._shared.scoring import score_classification
from mlready.runtime import metrics as m

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
MODEL = "quickstart"
GATES = ["f1 >= 0.95", "accuracy >= 0.9", "recall_weighted >= 0.8", "precision_macro >= 0.8", "rmse <= 2",
         "auc >= 0.9", "f1 >= champion.f1 - 0.01"]  # the last two: not measurable live, build-only
OVERRIDES = ["+monitoring=grafana", "serving.feedback.enabled=true", f"readiness.gates={GATES}",
             "monitoring.prometheus.accuracy.window=20s", "monitoring.prometheus.accuracy.alert_for=10s",
             "monitoring.prometheus.accuracy.min_rows=20", "readiness.compare_to=models:/quickstart@champion"]
STEPS = 40  # 5 s apart
INST = 'instance="a:8080"'


def groups(overrides: list[str]) -> list[dict]:
    from mlready.engine import api
    from mlready.generators._shared.alerts import alert_rule_groups

    spec, _ = api.compose_config(QUICKSTART, overrides)
    return alert_rule_groups(spec)


@pytest.fixture(scope="module")
def rules_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("accuracy") / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": groups(OVERRIDES)}, sort_keys=False))
    return path


def classifier(confusion: dict[tuple[str, str], int], positive: str | None) -> list[dict]:
    """Counters growing by ``confusion[(actual, predicted)]`` rows per 5 s (and the positive class gauge)."""
    out, correct, rows = [], {}, 0
    for (a, p), n in confusion.items():
        out.append({"series": f'{m.FEEDBACK_CONFUSION_TOTAL}{{model="{MODEL}",version="1",actual="{a}",'
                              f'predicted="{p}",{INST}}}', "values": f"0+{n}x{STEPS}"})
        correct[a] = correct.get(a, 0) + (n if a == p else 0)
        rows += n
    for c, n in correct.items():
        out.append({"series": f'{m.FEEDBACK_CORRECT_TOTAL}{{model="{MODEL}",version="1",class="{c}",{INST}}}',
                    "values": f"0+{n}x{STEPS}"})
    out.append({"series": f'{m.FEEDBACK_ROWS_TOTAL}{{model="{MODEL}",version="1",{INST}}}',
                "values": f"0+{rows}x{STEPS}"})
    if positive:
        out.append({"series": f'{m.FEEDBACK_POSITIVE_CLASS}{{model="{MODEL}",class="{positive}",{INST}}}',
                    "values": f"1x{STEPS}"})
    return out


def scores(confusion: dict[tuple[str, str], int], classes: list[str]) -> dict[str, float]:
    y_true = [a for (a, p), n in confusion.items() for _ in range(n)]
    y_pred = [p for (a, p), n in confusion.items() for _ in range(n)]
    return score_classification(np.array(y_true, dtype=object), np.array(y_pred, dtype=object),
                                classes=np.array(classes, dtype=object)).metrics


def expr_tests(expected: dict[str, float]) -> list[dict]:
    """The recorded metric equals ``expected`` to 1e-12 (1: true; a missing or other value fails)."""
    return [{"expr": f"abs(mlready:feedback_{k} - {v!r}) < bool 1e-12", "eval_time": "150s",
             "exp_samples": [{"labels": f'{{model="{MODEL}"}}', "value": 1}]}
            for k, v in expected.items()]


def alert_tests(fires: dict[str, float]) -> list[dict]:
    exp = []
    for gate in GATES[:5]:
        metric = gate.split()[0]
        if metric in fires:
            exp.append({"exp_labels": {"model": MODEL, "severity": "critical", "metric": metric},
                        "exp_annotations": {
                            "summary": f"{MODEL}: live {metric} fails the readiness gate '{gate}'",
                            "description": f"{metric} of {MODEL} over the labelled rows of the last 20s is "
                                           f"{fires[metric]:.4f} (the build's gate: {gate}). Retrain on recent data."}})
    return [{"eval_time": "150s", "alertname": "MlreadyLiveGateFailing", "exp_alerts": exp}]


def run_promtool(tmp_path: Path, rules_file: Path, tests: list[dict]) -> None:
    test_file = tmp_path / "tests.yml"
    test_file.write_text(yaml.safe_dump({"rule_files": [str(rules_file)], "evaluation_interval": "5s",
                                         "tests": tests}, sort_keys=False))
    proc = subprocess.run(["promtool", "test", "rules", str(test_file)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


BINARY = ["malignant", "benign"]
HEALTHY = {("malignant", "malignant"): 30, ("malignant", "benign"): 1, ("benign", "benign"): 60,
           ("benign", "malignant"): 1}
DEGRADED = {("malignant", "malignant"): 20, ("malignant", "benign"): 15, ("benign", "benign"): 40,
            ("benign", "malignant"): 10}
THREE = ["a", "b", "c"]
MULTI = {("a", "a"): 10, ("a", "b"): 2, ("b", "b"): 7, ("b", "c"): 3, ("c", "c"): 5, ("c", "a"): 4,
         ("c", "b"): 1}


@pytest.mark.tools
def test_promtool_check_rules(rules_file: Path) -> None:
    proc = subprocess.run(["promtool", "check", "rules", str(rules_file)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    alerts = [r for g in yaml.safe_load(rules_file.read_text())["groups"] for r in g["rules"]
              if r.get("alert") == "MlreadyLiveGateFailing"]
    assert [r["labels"]["metric"] for r in alerts] == ["f1", "accuracy", "recall_weighted", "precision_macro",
                                                        "rmse"]  # auc and the champion gate stay build-only


@pytest.mark.tools
def test_recorded_metrics_equal_the_builds_scoring(rules_file: Path, tmp_path: Path) -> None:
    binary = scores(DEGRADED, BINARY)
    multi = scores(MULTI, THREE)
    e, s, n = 7.5, 50.0, 10  # regression: |err| and err² summed per 5 s over n rows
    tests = [
        {"name": "binary: precision/recall/f1 of the positive class", "interval": "5s",
         "input_series": classifier(DEGRADED, "benign"),
         "promql_expr_test": expr_tests({k: binary[k] for k in (
             "accuracy", "precision", "recall", "f1", "precision_macro", "recall_weighted", "f1_weighted")})},
        {"name": "multiclass: the macro average", "interval": "5s", "input_series": classifier(MULTI, None),
         "promql_expr_test": expr_tests({k: multi[k] for k in (
             "accuracy", "precision", "recall", "f1", "f1_macro", "precision_weighted", "recall_weighted")})},
        {"name": "regression", "interval": "5s", "input_series": [
            {"series": f'{m.FEEDBACK_ROWS_TOTAL}{{model="{MODEL}",version="1",{INST}}}', "values": f"0+{n}x{STEPS}"},
            {"series": f'{m.FEEDBACK_SQUARED_ERROR}{{model="{MODEL}",version="1",{INST}}}',
             "values": f"0+{s}x{STEPS}"},
            {"series": f'{m.FEEDBACK_ABS_ERROR}{{model="{MODEL}",version="1",{INST}}}', "values": f"0+{e}x{STEPS}"}],
         "promql_expr_test": expr_tests({"rmse": math.sqrt(s / n)}),
         "alert_rule_test": alert_tests({"rmse": math.sqrt(s / n)})},
    ]
    assert multi["f1"] == multi["f1_macro"] and binary["f1"] != binary["f1_macro"]  # the two cases differ
    run_promtool(tmp_path, rules_file, tests)


@pytest.mark.tools
def test_alert_fires_when_a_live_metric_fails_its_gate_with_enough_rows(rules_file: Path, tmp_path: Path) -> None:
    bad = scores(DEGRADED, BINARY)
    assert scores(HEALTHY, BINARY)["f1"] >= 0.95
    few = {k: 1 for k in DEGRADED}  # 4 rows per 5 s: ~16 in the 20 s window, under min_rows 20
    fires = {k: bad[k] for k in ("f1", "accuracy", "recall_weighted", "precision_macro")
             if bad[k] < {"f1": 0.95, "accuracy": 0.9, "recall_weighted": 0.8, "precision_macro": 0.8}[k]}
    assert {"f1", "accuracy"} <= set(fires)
    run_promtool(tmp_path, rules_file, [
        {"name": "healthy", "interval": "5s", "input_series": classifier(HEALTHY, "benign"),
         "alert_rule_test": alert_tests({})},
        {"name": "degraded", "interval": "5s", "input_series": classifier(DEGRADED, "benign"),
         "alert_rule_test": alert_tests(fires)},
        {"name": "degraded but too few labelled rows", "interval": "5s", "input_series": classifier(few, "benign"),
         "alert_rule_test": alert_tests({})},
    ])


def test_no_accuracy_rules_without_feedback_or_live_gates() -> None:
    names = {g["name"] for g in groups([o for o in OVERRIDES if "feedback" not in o])}
    assert not any(n.endswith("-accuracy") for n in names)
    only_build = ["+monitoring=grafana", "serving.feedback.enabled=true", "readiness.gates=['auc >= 0.9']"]
    assert not any(g["name"].endswith("-accuracy") for g in groups(only_build))


def test_an_equality_gate_stays_build_only() -> None:
    """``accuracy == 1`` is a valid build gate; live, a ratio of extrapolated counters is never exactly 1."""
    base = ["+monitoring=grafana", "serving.feedback.enabled=true"]
    assert not any(g["name"].endswith("-accuracy") for g in groups([*base, "readiness.gates=['accuracy == 1']"]))
    (acc,) = [g for g in groups([*base, "readiness.gates=['accuracy == 1','f1 >= 0.9']"])
              if g["name"].endswith("-accuracy")]
    assert [r["labels"]["metric"] for r in acc["rules"] if "alert" in r] == ["f1"]


@pytest.mark.parametrize(("override", "message"), [
    ("monitoring.prometheus.accuracy.window=5s",
     "monitoring.prometheus.accuracy.window: '5s': expected a window between 10s and 90d"),
    ("monitoring.prometheus.accuracy.window=100d", "monitoring.prometheus.accuracy.window: '100d': expected a window"),
    ("monitoring.prometheus.accuracy.min_rows=0", "monitoring.prometheus.accuracy.min_rows: must be >= 1, got 0"),
    ("monitoring.prometheus.accuracy.alert_for=soon", "monitoring.prometheus.accuracy.alert_for: 'soon' does not "
                                                      "match"),
    ("readiness.gates=['f1 >= 1.5']", "readiness.gates.0: 'f1 >= 1.5': f1 is never >= 1.5 (its values are 0..1): "
                                      "the gate could never pass"),  # a live alert that would always fire
    ("readiness.gates=['rmse <= -1']", "readiness.gates.0: 'rmse <= -1': rmse is never <= -1"),
])
def test_an_accuracy_window_or_threshold_that_makes_no_sense_is_a_spec_error(override: str, message: str) -> None:
    from mlready.engine import api
    from mlready.engine.errors import SpecError

    with pytest.raises(SpecError) as err:
        api.validate(QUICKSTART, ["+monitoring=grafana", "serving.feedback.enabled=true", "tracking.enabled=false",
                                  override])
    assert message in str(err.value)
