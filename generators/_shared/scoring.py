"""Scoring: run an ONNX model with onnxruntime and compute classification or regression metrics.

:func:`evaluate_onnx` is the public entry point (the optimizer reuses it to measure an accuracy budget)::

    evaluate_onnx(model_bytes_or_path, X, y, "classification") -> {"accuracy": 0.97, "auc": None, ...}

Classification: accuracy; precision, recall, F1 (binary: of the positive class, the last of the sorted
classes; multiclass: macro), their ``_macro`` and ``_weighted`` forms; AUC-ROC (binary, or macro
one-vs-rest); the confusion matrix and ROC curves. Regression: MAE, RMSE, R². A metric that is undefined
(0/0: a class absent from the data or never predicted, one class only for AUC) is ``None`` with the reason in
``Scores.undefined`` — never a made-up number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROC_POINTS = 200  # at most this many points per ROC curve in a report

ONNX_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
}


@dataclass
class Scores:
    task: str
    n: int
    metrics: dict[str, float | None]
    undefined: dict[str, str] = field(default_factory=dict)
    confusion: dict[str, Any] | None = None  # {"labels": [...], "matrix": [[...]]}, rows = true class
    roc: list[dict[str, Any]] = field(default_factory=list)  # [{"class", "fpr", "tpr", "auc"}]


@dataclass
class Prediction:
    labels: np.ndarray | None = None  # classification: predicted class labels
    proba: np.ndarray | None = None  # classification: [n, n_classes] probabilities, if the model gives them
    values: np.ndarray | None = None  # regression: [n] predictions

    def regression(self) -> np.ndarray:
        """``values``, for code that only handles a regressor's predictions."""
        if self.values is None:
            raise ValueError("a regression prediction without values")
        return self.values

    def classes(self) -> np.ndarray:
        """``labels``, for code that only handles a classifier's predictions."""
        if self.labels is None:
            raise ValueError("a classification prediction without labels")
        return self.labels


def as_labels(values: Any) -> np.ndarray:
    """Normalise class labels so that 1, 1.0 and np.int64(1) compare equal (strings stay strings)."""
    arr = np.asarray(values).ravel()
    if arr.dtype.kind in "iub":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        return arr.astype(np.int64)
    return arr.astype(str)


def session(model: bytes | str | Path | Any):
    """An onnxruntime CPU session for ONNX bytes, a path or an ``onnx.ModelProto``."""
    import onnxruntime as ort

    if hasattr(model, "SerializeToString"):
        model = model.SerializeToString()
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, sess_options=opts, providers=["CPUExecutionProvider"])


def _feed(sess, X: Any, features: list[dict[str, Any]] | None, data_name: str) -> dict[str, np.ndarray]:
    from mlready.generators._shared.feeds import bind_features, frame_feeds, session_inputs

    inputs = sess.get_inputs()
    if hasattr(X, "columns"):  # a table: through the feature binding (the signature's, else by column name)
        described = session_inputs(sess)
        features = features or bind_features(described, [str(c) for c in X.columns])
        if features is not None:
            return frame_feeds(X, described, features, data_name)
    if len(inputs) == 1:
        dtype = ONNX_DTYPES.get(inputs[0].type, np.float32)
        return {inputs[0].name: np.ascontiguousarray(np.asarray(X), dtype=dtype)}
    raise ValueError(f"{data_name}: the model has {len(inputs)} inputs; feed it a table of named columns")


def predict_onnx(
    model: Any,
    X: Any,
    task: str,
    classes: Sequence[Any] | None = None,
    features: list[dict[str, Any]] | None = None,
    data_name: str = "the data",
) -> Prediction:
    """Run the model (bytes, path, ModelProto or an existing session) on X and read its outputs.

    ``X`` is a matrix for a one-input model, or a DataFrame fed through ``features`` (the signature's feature
    binding; by column name when None). Classifiers: an integer/string ``label`` output and a float
    ``probabilities`` [n, k] output are used when present; a model with only a float [n, k] output is read as
    scores, labels by argmax over ``classes``. Regressors: the first output, flattened.
    """
    sess = model if hasattr(model, "get_inputs") else session(model)
    outs = sess.get_outputs()
    results = sess.run(None, _feed(sess, X, features, data_name))
    by_name = dict(zip([o.name for o in outs], results, strict=True))
    if task == "regression":
        return Prediction(values=np.asarray(results[0], dtype=np.float64).reshape(-1))
    labels = proba = None
    for out, res in zip(outs, results, strict=True):
        arr = np.asarray(res)
        if out.name == "probabilities" or (proba is None and arr.ndim == 2 and arr.dtype.kind == "f"):
            proba = arr.astype(np.float64)
        elif out.name == "label" or (labels is None and arr.ndim == 1 and arr.dtype.kind in "iuOUS"):
            labels = arr
    if "label" in by_name:
        labels = np.asarray(by_name["label"])
    if labels is None and proba is not None:
        idx = np.argmax(proba, axis=1)
        labels = np.asarray(classes)[idx] if classes is not None else idx
    if labels is None:
        raise ValueError("the ONNX model has no label or probability output to read as a classifier")
    return Prediction(labels=as_labels(labels), proba=proba)


def _ratio(num: float, den: float) -> float | None:
    return None if den == 0 else float(num) / float(den)


def _per_class(cm: np.ndarray) -> tuple[list[float | None], list[float | None], list[float | None]]:
    tp = np.diag(cm).astype(float)
    pred = cm.sum(axis=0)
    true = cm.sum(axis=1)
    precision = [_ratio(tp[i], pred[i]) for i in range(len(tp))]
    recall = [_ratio(tp[i], true[i]) for i in range(len(tp))]
    f1 = [_ratio(2 * tp[i], pred[i] + true[i]) for i in range(len(tp))]
    return precision, recall, f1


def _average(values: list[float | None], weights: np.ndarray | None) -> float | None:
    if any(v is None for v in values):
        if weights is None:
            return None
        # weighted: classes with no support weigh nothing, so their undefined value does not matter
        pairs = [(v, w) for v, w in zip(values, weights, strict=True) if w > 0]
        defined = [(v, w) for v, w in pairs if v is not None]
        if len(defined) < len(pairs) or not defined:
            return None
        return float(sum(v * w for v, w in defined) / sum(w for _, w in defined))
    present = [v for v in values if v is not None]  # all of them, here
    if weights is None:
        return float(np.mean(present))
    return None if weights.sum() == 0 else float(np.average(present, weights=weights))


def _curve(y: np.ndarray, score: np.ndarray) -> tuple[list[float], list[float], float]:
    from sklearn.metrics import roc_auc_score, roc_curve

    fpr, tpr, _ = roc_curve(y, score)
    if len(fpr) > ROC_POINTS:
        idx = np.unique(np.linspace(0, len(fpr) - 1, ROC_POINTS).round().astype(int))
        fpr, tpr = fpr[idx], tpr[idx]
    return (
        [round(float(v), 4) for v in fpr],
        [round(float(v), 4) for v in tpr],
        float(roc_auc_score(y, score)),
    )


def score_classification(
    y_true: Any, y_pred: Any, proba: np.ndarray | None = None, classes: Sequence[Any] | np.ndarray | None = None
) -> Scores:
    """Classification metrics; ``classes`` gives the order of the probability columns."""
    y_true, y_pred = as_labels(y_true), as_labels(y_pred)
    labels = as_labels(classes) if classes is not None else np.unique(np.concatenate([y_true, y_pred]))
    names = [str(c) for c in labels]
    index = {c: i for i, c in enumerate(labels.tolist())}
    k = len(labels)
    cm = np.zeros((k, k), dtype=np.int64)
    unknown = sorted({str(v) for v in np.concatenate([y_true, y_pred]) if v not in index})
    if unknown:
        raise ValueError(f"labels {', '.join(unknown)} are not among the model's classes {', '.join(names)}")
    for t, p in zip(y_true.tolist(), y_pred.tolist(), strict=True):
        cm[index[t], index[p]] += 1
    n = int(cm.sum())
    metrics: dict[str, float | None] = {"accuracy": _ratio(np.trace(cm), n)}
    undefined: dict[str, str] = {}
    if n == 0:
        undefined["accuracy"] = "no rows to evaluate"
    per_class = dict(zip(("precision", "recall", "f1"), _per_class(cm), strict=True))
    support = cm.sum(axis=1)
    absent = [names[i] for i in range(k) if support[i] == 0]
    why_class = {
        "precision": "never predicted",
        "recall": "absent from the data",
        "f1": "absent from the data and never predicted",
    }

    def reason(metric: str, idx: list[int]) -> str:
        bad = [names[i] for i in idx if per_class[metric][i] is None]
        return f"class {', '.join(bad)} {why_class[metric]}"

    for metric, per in per_class.items():
        metrics[f"{metric}_macro"] = _average(per, None)
        metrics[f"{metric}_weighted"] = _average(per, support)
        metrics[metric] = per[1] if k == 2 else metrics[f"{metric}_macro"]
        checks = {
            f"{metric}_macro": range(k),
            f"{metric}_weighted": [i for i in range(k) if support[i]],
            metric: [1] if k == 2 else range(k),
        }
        for name, idx in checks.items():
            if metrics[name] is None:
                undefined[name] = reason(metric, list(idx)) if k else "the data has no classes"
    roc: list[dict[str, Any]] = []
    if proba is None or proba.ndim != 2 or proba.shape[1] != k:
        metrics["auc"] = None
        undefined["auc"] = (
            "the model gives no class probabilities"
            if proba is None
            else (f"the model gives {proba.shape[1]} probability columns for {k} classes")
        )
    elif k == 2:
        if absent:
            metrics["auc"] = None
            undefined["auc"] = f"only one class present in the data (class {', '.join(absent)} absent)"
        else:
            fpr, tpr, auc = _curve(y_true == labels[1], proba[:, 1])
            metrics["auc"] = auc
            roc.append({"class": names[1], "fpr": fpr, "tpr": tpr, "auc": round(auc, 6)})
    else:
        aucs = []
        for i in range(k):
            if support[i] == 0 or support[i] == n:
                continue
            fpr, tpr, auc = _curve(y_true == labels[i], proba[:, i])
            aucs.append(auc)
            roc.append({"class": names[i], "fpr": fpr, "tpr": tpr, "auc": round(auc, 6)})
        metrics["auc"] = float(np.mean(aucs)) if len(aucs) == k else None
        if metrics["auc"] is None:
            undefined["auc"] = (
                f"one-vs-rest AUC needs every class in the data and at least two (absent: {', '.join(absent)})"
            )
    confusion = {"labels": names, "matrix": cm.tolist()}
    return Scores("classification", n, metrics, undefined, confusion, roc)


def score_regression(y_true: Any, y_pred: Any) -> Scores:
    y = np.asarray(y_true, dtype=np.float64).ravel()
    p = np.asarray(y_pred, dtype=np.float64).ravel()
    n = len(y)
    if n == 0:
        why = "no rows to evaluate"
        return Scores(
            "regression", 0, dict.fromkeys(("mae", "rmse", "r2")), dict.fromkeys(("mae", "rmse", "r2"), why)
        )
    err = p - y
    metrics: dict[str, float | None] = {
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err**2))),
    }
    undefined = {}
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    if ss_tot == 0:
        metrics["r2"] = None
        undefined["r2"] = "the target is constant in the data (R² divides by its variance)"
    else:
        metrics["r2"] = 1.0 - float(np.sum(err**2)) / ss_tot
    return Scores("regression", n, metrics, undefined)


def infer_classes(y_true: Any, pred: Prediction) -> np.ndarray | None:
    """The probability columns' classes when the model does not say (a plain ONNX file): the labels seen,
    when there are as many as columns, else 0..k-1 when every label seen is such an index."""
    if pred.proba is None or pred.proba.ndim != 2:
        return None
    k = pred.proba.shape[1]
    seen = np.unique(np.concatenate([as_labels(y_true), pred.labels]))
    if len(seen) == k:
        return seen
    if seen.dtype.kind == "i" and seen.min() >= 0 and seen.max() < k:
        return np.arange(k)
    return None


def score(task: str, y_true: Any, pred: Prediction, classes: Sequence[Any] | np.ndarray | None = None) -> Scores:
    if task == "regression":
        return score_regression(y_true, pred.values)
    if classes is None:
        classes = infer_classes(y_true, pred)
    return score_classification(y_true, pred.labels, pred.proba, classes)


def evaluate_onnx_scores(
    model: Any, X: Any, y: Any, task: str, classes: Sequence[Any] | None = None,
    features: list[dict[str, Any]] | None = None,
) -> Scores:
    """Run the served model on X and score it against y: metrics, undefined reasons, confusion, ROC."""
    return score(task, y, predict_onnx(model, X, task, classes, features), classes)


def evaluate_onnx(
    model: bytes | str | Path | Any, X: Any, y: Any, task: str, classes: Sequence[Any] | None = None,
    features: list[dict[str, Any]] | None = None,
) -> dict[str, float | None]:
    """Metric name -> value for an ONNX model (bytes, path, ModelProto or session) on (X, y).

    ``task`` is ``classification`` or ``regression``; undefined metrics are ``None``. ``X`` is a matrix, or a
    DataFrame fed through ``features`` (see :func:`predict_onnx`).
    """
    return evaluate_onnx_scores(model, X, y, task, classes, features).metrics
