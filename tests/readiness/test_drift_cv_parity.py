"""Drift and data checks, cross-validation and parity on real data and models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlready.generators._shared.scoring import Prediction, predict_onnx
from mlready.generators.readiness.crossval import cross_validate, estimator_fit, flat_metrics
from mlready.generators.readiness.drift import data_checks, psi
from mlready.generators.readiness.parity import parity
from mlready.generators.readiness.source_predict import predict_source
from skl2onnx import to_onnx
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.tree import DecisionTreeClassifier


def test_psi_is_zero_for_the_same_distribution_and_large_for_a_shift():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=5000)
    assert psi(ref, ref) == pytest.approx(0.0, abs=1e-12)
    assert psi(ref, rng.normal(size=5000)) < 0.02
    assert psi(ref, rng.normal(loc=1.0, size=5000)) > 0.25


def test_psi_of_few_distinct_values_counts_unseen_values():
    ref = np.array([0, 1] * 50, dtype=float)
    assert psi(ref, ref.copy()) == pytest.approx(0.0, abs=1e-12)
    assert psi(ref, np.array([0, 1, 2, 2] * 25, dtype=float)) > 1.0  # value 2 never seen in the reference


def test_data_checks_report_columns_dtypes_missing_and_ranges(cancer):
    ref = cancer["train"]
    feats = cancer["features"][:3]
    sample = cancer["eval"].copy()
    sample.loc[sample.index[:5], feats[0]] = np.nan
    sample[feats[1]] = sample[feats[1]] * 3  # shifted far outside the reference range
    sample[feats[2]] = "text"
    checks = data_checks(ref, sample, feats + ["absent"], bins=10)
    rows = {r["feature"]: r for r in checks["features"]}
    assert checks["missing_columns"] == ["absent"]
    assert rows[feats[0]]["missing_rate"] == pytest.approx(5 / len(sample), abs=1e-6)
    assert rows[feats[1]]["psi_level"] == "significant" and rows[feats[1]]["out_of_range"] > 0.3
    assert rows[feats[2]]["dtype_ok"] is False and rows[feats[2]]["psi"] is None
    assert rows[feats[2]]["reason"] == "dtype non-numeric in the sample, float in the reference"
    # a missing feature column makes every data metric undefined, with the reason
    assert checks["summary"]["drift.psi.max"] is None
    assert checks["undefined"]["drift.psi.max"] == "the sample lacks feature column(s) absent"


def test_cross_validation_matches_sklearn_cross_val_score(cancer):
    train, feats = cancer["train"], cancer["features"]
    X, y = train[feats].reset_index(drop=True), train["target"].to_numpy()
    seen = []
    cv = cross_validate(
        estimator_fit(cancer["model"]),
        X,
        y,
        "classification",
        folds=4,
        seed=3,
        classes=[0, 1],
        progress=lambda msg, frac: seen.append(msg),
    )
    expected = cross_val_score(
        clone(cancer["model"]), X, y, cv=StratifiedKFold(4, shuffle=True, random_state=3)
    )
    assert [f["accuracy"] for f in cv["per_fold"]] == pytest.approx(list(expected))
    assert cv["summary"]["accuracy"] == {
        "mean": pytest.approx(expected.mean()),
        "std": pytest.approx(expected.std()),
    }
    assert seen == [f"cross-validation fold {i}/4" for i in range(1, 5)]
    assert flat_metrics(cv)["cv.f1.std"] == cv["summary"]["f1"]["std"]


def test_cross_validation_refuses_classes_smaller_than_folds():
    X = np.arange(20, dtype=float).reshape(-1, 1)
    y = np.array([0] * 17 + [1] * 3)
    cv = cross_validate(estimator_fit(DecisionTreeClassifier()), X, y, "classification", folds=5)
    assert cv["skipped"] == "class 1 (3 rows) has fewer rows than the 5 folds of stratified cross-validation"
    assert cv["per_fold"] == [] and flat_metrics(cv) == {}


def test_parity_of_a_faithful_conversion(cancer):
    model, ev, feats = cancer["model"], cancer["eval"], cancer["features"]
    onx = to_onnx(
        model, np.zeros((1, 30), np.float32), options={id(model): {"zipmap": False}}, target_opset=17
    )
    served = predict_onnx(onx, ev[feats].to_numpy(), "classification", [0, 1])
    source = predict_source(model, ev[feats], "classification", [0, 1])
    p = parity(source, served, "classification")
    assert p["metrics"]["parity.agreement"] == 1.0
    assert 0 < p["metrics"]["parity.max_abs_diff"] < 1e-5  # float32 inference: tiny but real differences
    assert p["disagreements"] == []


def test_parity_catches_a_flipped_tree_threshold():
    """A float32 threshold that rounds past a training value sends those rows down the other branch."""
    X = np.repeat(np.array([[1.0], [2.0]]), 50, axis=0)
    y = np.repeat([0, 1], 50)
    tree = DecisionTreeClassifier().fit(X, y)
    onx = to_onnx(tree, X[:1].astype(np.float32), options={id(tree): {"zipmap": False}}, target_opset=17)
    for node in onx.graph.node:  # simulate the conversion bug: the split threshold lands on the upper value
        for attr in node.attribute:
            if attr.name == "nodes_values":
                attr.floats[:] = [2.0 if v == pytest.approx(1.5) else v for v in attr.floats]
    served = predict_onnx(onx.SerializeToString(), X, "classification", [0, 1])
    p = parity(predict_source(tree, X, "classification", [0, 1]), served, "classification")
    assert p["metrics"]["parity.agreement"] == 0.5
    assert p["metrics"]["parity.max_abs_diff"] == 1.0
    assert p["disagreement_count"] == 50
    assert p["disagreements"][0] == {"row": 51, "source": 1, "onnx": 0}
    assert len(p["disagreements"]) == 10


def test_parity_for_regression_has_no_agreement():
    src = Prediction(values=np.array([1.0, 2.0, 3.0]))
    srv = Prediction(values=np.array([1.0, 2.5, 3.0]))
    p = parity(src, srv, "regression")
    assert p["metrics"] == {"parity.agreement": None, "parity.max_abs_diff": 0.5}
    assert p["undefined"]["parity.agreement"] == "label agreement is defined for classifiers only"
    assert p["disagreements"] == [{"row": 2, "source": 2.0, "onnx": 2.5}]


def test_source_predictions_align_probability_columns_to_served_classes():
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    tree = DecisionTreeClassifier(random_state=0).fit(X, ["b", "a", "b", "a"])
    pred = predict_source(tree, X, "classification", ["b", "a"])
    assert pred.proba[:, 0].tolist() == [1.0, 0.0, 1.0, 0.0]  # column 0 is now class "b"
