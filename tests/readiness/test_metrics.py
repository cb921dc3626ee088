"""evaluate_onnx runs the real ONNX model in onnxruntime; its numbers must equal scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest
from mlready.generators._shared.scoring import (
    evaluate_onnx,
    evaluate_onnx_scores,
    score_classification,
    score_regression,
)
from skl2onnx import to_onnx
from sklearn import metrics as skm


def onnx_bytes(model, n_features: int, classifier: bool = True) -> bytes:
    options = {id(model): {"zipmap": False}} if classifier else None
    return to_onnx(
        model, np.zeros((1, n_features), np.float32), options=options, target_opset=17
    ).SerializeToString()


def test_binary_metrics_match_sklearn(cancer):
    model, ev, feats = cancer["model"], cancer["eval"], cancer["features"]
    X, y = ev[feats].to_numpy(), ev["target"].to_numpy()
    got = evaluate_onnx(onnx_bytes(model, 30), X, y, "classification")
    pred = model.predict(ev[feats])
    proba = model.predict_proba(ev[feats])[:, 1]
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert got["precision"] == pytest.approx(skm.precision_score(y, pred))
    assert got["recall"] == pytest.approx(skm.recall_score(y, pred))
    assert got["f1"] == pytest.approx(skm.f1_score(y, pred))
    assert got["f1_macro"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert got["f1_weighted"] == pytest.approx(skm.f1_score(y, pred, average="weighted"))
    assert got["auc"] == pytest.approx(skm.roc_auc_score(y, proba), abs=1e-6)


def test_multiclass_metrics_and_confusion_match_sklearn(iris):
    model, ev, feats = iris["model"], iris["eval"], iris["features"]
    X, y = ev[feats].to_numpy(), ev["target"].to_numpy()
    scores = evaluate_onnx_scores(onnx_bytes(model, 4), X, y, "classification", classes=[0, 1, 2])
    pred = model.predict(X)
    assert scores.metrics["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert scores.metrics["precision_weighted"] == pytest.approx(
        skm.precision_score(y, pred, average="weighted")
    )
    assert scores.metrics["recall_macro"] == pytest.approx(skm.recall_score(y, pred, average="macro"))
    assert scores.metrics["auc"] == pytest.approx(
        skm.roc_auc_score(y, model.predict_proba(X), multi_class="ovr", average="macro"), abs=1e-6
    )
    assert scores.confusion == {"labels": ["0", "1", "2"], "matrix": skm.confusion_matrix(y, pred).tolist()}
    assert [c["class"] for c in scores.roc] == ["0", "1", "2"]
    assert scores.undefined == {}


def test_regression_metrics_match_sklearn(diabetes):
    model, ev, feats = diabetes["model"], diabetes["eval"], diabetes["features"]
    X, y = ev[feats].to_numpy(), ev["target"].to_numpy()
    got = evaluate_onnx(onnx_bytes(model, 10, classifier=False), X, y, "regression")
    pred = model.predict(ev[feats])
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(y, pred), rel=1e-5)
    assert got["rmse"] == pytest.approx(skm.root_mean_squared_error(y, pred), rel=1e-5)
    assert got["r2"] == pytest.approx(skm.r2_score(y, pred), rel=1e-5)


def test_absent_class_makes_metrics_undefined_with_reasons():
    y_true = [1, 1, 1, 1]
    y_pred = [1, 1, 0, 1]
    proba = np.array([[0.1, 0.9], [0.2, 0.8], [0.7, 0.3], [0.4, 0.6]])
    s = score_classification(y_true, y_pred, proba, classes=[0, 1])
    assert s.metrics["accuracy"] == 0.75
    assert s.metrics["recall"] == 0.75 and s.metrics["precision"] == 1.0
    assert s.metrics["auc"] is None
    assert s.undefined["auc"] == "only one class present in the data (class 0 absent)"
    assert s.metrics["recall_macro"] is None
    assert s.undefined["recall_macro"] == "class 0 absent from the data"
    # weighted averages ignore classes without support, so they stay defined
    assert s.metrics["recall_weighted"] == 0.75


def test_class_never_predicted_nor_present():
    s = score_classification([0, 1, 1], [0, 1, 1], None, classes=[0, 1, 2])
    assert s.metrics["f1"] is None
    assert s.undefined["f1"] == "class 2 absent from the data and never predicted"
    assert s.undefined["precision"] == "class 2 never predicted"
    assert s.undefined["auc"] == "the model gives no class probabilities"
    assert s.metrics["f1_weighted"] == 1.0
    assert s.confusion["matrix"] == [[1, 0, 0], [0, 2, 0], [0, 0, 0]]


def test_string_labels_and_float_labels_compare_as_labels():
    s = score_classification(
        np.array([1.0, 0.0, 1.0]), np.array([1, 0, 0], dtype=np.int64), None, classes=[0, 1]
    )
    assert s.metrics["accuracy"] == pytest.approx(2 / 3)
    s = score_classification(["no", "yes"], ["no", "yes"], None, classes=["no", "yes"])
    assert s.metrics["accuracy"] == 1.0
    with pytest.raises(ValueError, match="labels maybe are not among the model's classes no, yes"):
        score_classification(["no", "maybe"], ["no", "yes"], None, classes=["no", "yes"])


def test_constant_target_makes_r2_undefined():
    s = score_regression([3.0, 3.0, 3.0], [2.0, 3.0, 4.0])
    assert s.metrics["mae"] == pytest.approx(2 / 3)
    assert s.metrics["r2"] is None
    assert "constant" in s.undefined["r2"]
