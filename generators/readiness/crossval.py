"""k-fold cross-validation of the source model's training procedure.

Each fold refits a fresh model (``sklearn.base.clone`` of the estimator, or the spec's trainer called on the
fold's rows) and scores it on the held-out rows with the same metric code as the served model. Folds are
stratified for classification, shuffled with a fixed seed. The summary gives each metric's mean and
standard deviation over the folds (population std, ``ddof=0``); a metric undefined in any fold is undefined.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from mlready.generators._shared.scoring import as_labels, score
from mlready.generators.readiness.source_predict import predict_source

Fit = Callable[[Any, np.ndarray], Any]  # (X, y) -> fitted model


def estimator_fit(estimator: Any) -> Fit:
    """A fit function that refits a clone of a scikit-learn estimator."""
    from sklearn.base import clone

    def fit(X: Any, y: np.ndarray) -> Any:
        return clone(estimator).fit(X, y)

    return fit


def _splits(
    task: str, y: np.ndarray, folds: int, seed: int
) -> tuple[list[tuple[np.ndarray, np.ndarray]], str | None]:
    from sklearn.model_selection import KFold, StratifiedKFold

    n = len(y)
    if n < folds:
        return [], f"{n} rows are fewer than {folds} folds"
    if task == "regression":
        return list(KFold(folds, shuffle=True, random_state=seed).split(np.zeros(n))), None
    labels = as_labels(y)
    values, counts = np.unique(labels, return_counts=True)
    if len(values) < 2:
        return [], f"the data has one class only ({values[0]})"
    if counts.min() < folds:
        small = ", ".join(f"{v} ({c} rows)" for v, c in zip(values, counts, strict=True) if c < folds)
        return [], f"class {small} has fewer rows than the {folds} folds of stratified cross-validation"
    return list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(n), labels)), None


def _take(X: Any, idx: np.ndarray) -> Any:
    return X.iloc[idx].reset_index(drop=True) if isinstance(X, pd.DataFrame) else X[idx]


def cross_validate(
    fit: Fit,
    X: Any,
    y: np.ndarray,
    task: str,
    *,
    folds: int = 5,
    seed: int = 0,
    classes: Sequence[Any] | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> dict[str, Any]:
    """Per-fold metrics and their mean/std; ``skipped`` holds the reason when CV cannot run."""
    splits, why = _splits(task, y, folds, seed)
    if why:
        return {"folds": folds, "seed": seed, "skipped": why, "per_fold": [], "summary": {}, "undefined": {}}
    per_fold: list[dict[str, float | None]] = []
    fold_undefined: list[dict[str, str]] = []
    for i, (train_idx, test_idx) in enumerate(splits):
        if progress:
            progress(f"cross-validation fold {i + 1}/{folds}", i / folds)
        model = fit(_take(X, train_idx), y[train_idx])
        pred = predict_source(model, _take(X, test_idx), task, classes)
        scores = score(task, y[test_idx], pred, classes)
        per_fold.append(scores.metrics)
        fold_undefined.append(scores.undefined)
    summary: dict[str, dict[str, float | None]] = {}
    undefined: dict[str, str] = {}
    for metric in sorted(per_fold[0]):
        values = [f[metric] for f in per_fold]
        if any(v is None for v in values):
            k = next(i for i, v in enumerate(values) if v is None)
            reason = f"undefined in fold {k + 1}: {fold_undefined[k].get(metric, 'no value')}"
            summary[metric] = {"mean": None, "std": None}
            undefined[f"cv.{metric}.mean"] = undefined[f"cv.{metric}.std"] = reason
        else:
            present = [v for v in values if v is not None]  # all of them, here
            summary[metric] = {"mean": float(np.mean(present)), "std": float(np.std(present))}
    return {
        "folds": folds,
        "seed": seed,
        "skipped": None,
        "per_fold": per_fold,
        "summary": summary,
        "undefined": undefined,
    }


def flat_metrics(cv: dict[str, Any]) -> dict[str, float | None]:
    """``cv.<metric>.mean`` / ``cv.<metric>.std`` -> value, for gates."""
    out: dict[str, float | None] = {}
    for metric, stats in cv.get("summary", {}).items():
        out[f"cv.{metric}.mean"] = stats["mean"]
        out[f"cv.{metric}.std"] = stats["std"]
    return out
