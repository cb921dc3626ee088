"""Gate parsing (spec time) and checking (build time)."""

from __future__ import annotations

import pytest
from mlready.generators._shared.gates import (
    check_gates,
    eval_catalogue,
    gate_table,
    parse_gate,
    sample_catalogue,
)


@pytest.mark.parametrize(
    ("text", "metric", "op", "threshold"),
    [
        ("f1 >= 0.95", "f1", ">=", 0.95),
        ("cv.f1.std<=0.02", "cv.f1.std", "<=", 0.02),
        ("  parity.agreement >= 0.999 ", "parity.agreement", ">=", 0.999),
        ("parity.max_abs_diff < 1e-4", "parity.max_abs_diff", "<", 1e-4),
        ("r2 > -0.5", "r2", ">", -0.5),
        ("accuracy == 1", "accuracy", "==", 1.0),
    ],
)
def test_parses_valid_gates(text, metric, op, threshold):
    gate = parse_gate(text, eval_catalogue())
    assert (gate.metric, gate.op, gate.threshold) == (metric, op, threshold)
    assert gate.text == text.strip()


def test_unknown_metric_lists_the_valid_ones():
    with pytest.raises(ValueError) as info:
        parse_gate("f2 >= 0.9", eval_catalogue("classification"))
    message = str(info.value)
    assert "unknown metric 'f2'" in message
    assert "accuracy, precision, recall, f1, auc" in message
    assert "cv.<metric>.mean, cv.<metric>.std" in message
    assert "parity.agreement, parity.max_abs_diff" in message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("f1 => 0.9", "unknown operator '=>'"),
        ("f1 != 0.9", "unknown operator '!='"),
        ("f1 >= high", "threshold 'high' is not a number"),
        ("f1 >= nan", "finite"),
        ("f1 0.9", "is not a gate"),
        ("", "is not a gate"),
    ],
)
def test_bad_gates_say_what_is_wrong(text, fragment):
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(")):
        parse_gate(text, eval_catalogue())


@pytest.mark.parametrize(("text", "message"), [
    ("f1 >= 1.5", "'f1 >= 1.5': f1 is never >= 1.5 (its values are 0..1): the gate could never pass"),
    ("accuracy > 1", "'accuracy > 1': accuracy is never > 1 (its values are 0..1): the gate could never pass"),
    ("cv.auc.mean == 2", "cv.auc.mean is never == 2 (its values are 0..1)"),
    ("rmse <= -1", "'rmse <= -1': rmse is never <= -1 (its values are >= 0): the gate could never pass"),
    ("mae < 0", "mae is never < 0 (its values are >= 0)"),
    ("r2 >= 1.2", "r2 is never >= 1.2 (its values are <= 1)"),
    ("cv.f1.std < 0", "cv.f1.std is never < 0"),
    ("accuracy >= -0.1", "'accuracy >= -0.1': -0.1 is outside accuracy's values (0..1): the gate always passes and "
                         "checks nothing"),
    ("r2 <= 2", "2 is outside r2's values (<= 1): the gate always passes"),
    ("parity.agreement >= 1.5", "parity.agreement is never >= 1.5"),
])
def test_a_threshold_outside_the_metrics_range_makes_no_sense(text, message):
    with pytest.raises(ValueError) as err:
        parse_gate(text, eval_catalogue())
    assert message in str(err.value)


@pytest.mark.parametrize("text", ["f1 >= 1", "f1 >= 0", "mae <= 0", "r2 > -3", "accuracy == 0.5", "f1 == 1"])
def test_thresholds_at_the_ends_of_the_range_are_fine(text):
    assert parse_gate(text, eval_catalogue()).text == text


def test_a_sample_gate_outside_its_range():
    with pytest.raises(ValueError, match=r"data.missing_rate.max is never > 1 \(its values are 0..1\)"):
        parse_gate("data.missing_rate.max > 1", sample_catalogue())
    with pytest.raises(ValueError, match=r"drift.psi.max is never <= -0.1 \(its values are >= 0\)"):
        parse_gate("drift.psi.max <= -0.1", sample_catalogue())


def test_sample_catalogue_has_drift_but_not_cv():
    assert parse_gate("drift.psi.max <= 0.2", sample_catalogue()).metric == "drift.psi.max"
    with pytest.raises(ValueError, match="cv.f1.std is measured on the evaluation data only"):
        parse_gate("cv.f1.std <= 0.2", sample_catalogue())
    with pytest.raises(ValueError, match=r"drift.psi.max is measured on the real-world sample \(data.sample\) only"):
        parse_gate("drift.psi.max <= 0.2", eval_catalogue())


def test_checking_boundaries_and_undefined_values():
    gates = [
        parse_gate(t, eval_catalogue()) for t in ("f1 >= 0.95", "auc > 0.9", "cv.f1.std <= 0.02", "r2 >= 0")
    ]
    results = check_gates(
        gates,
        {"f1": 0.95, "auc": 0.9, "cv.f1.std": None},
        {"cv.f1.std": "undefined in fold 2: class 1 absent from the data"},
    )
    assert [r.passed for r in results] == [True, False, False, False]
    assert results[2].reason == "undefined in fold 2: class 1 absent from the data"
    assert results[3].reason == "r2 was not measured"
    assert results[0].to_json() == {
        "gate": "f1 >= 0.95",
        "metric": "f1",
        "op": ">=",
        "threshold": 0.95,
        "value": 0.95,
        "passed": True,
        "reason": None,
    }


def test_gate_table_text():
    gates = [parse_gate(t, eval_catalogue()) for t in ("f1 >= 0.999", "auc >= 0.9", "cv.f1.std <= 0.02")]
    results = check_gates(gates, {"f1": 0.961326, "auc": 0.99}, {"cv.f1.std": "cross-validation is off"})
    assert gate_table(results, "gates:") == (
        "gates:\n"
        "metric     value      threshold  result\n"
        "---------  ---------  ---------  ------\n"
        "f1         0.9613     >= 0.999   FAIL\n"
        "auc        0.9900     >= 0.9     pass\n"
        "cv.f1.std  undefined  <= 0.02    FAIL\n"
        "  cv.f1.std: cross-validation is off"
    )
