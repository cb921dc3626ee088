"""Predictions of the *source* model (the framework object, before ONNX), for parity and cross-validation.

The source is anything with scikit-learn's ``predict`` (and ``predict_proba`` for probabilities): a fitted
estimator or pipeline, or the adapter the PyTorch loader puts around a module. An estimator fitted on a
DataFrame (it has ``feature_names_in_``) gets a DataFrame with those columns; any other gets an array, so
scikit-learn never warns about feature names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from mlready.generators._shared.scoring import Prediction, as_labels


def source_input(estimator: Any, frame: pd.DataFrame, features: list[str], X: np.ndarray) -> Any:
    """What to pass the estimator: a DataFrame when it was fitted on named columns, else the array."""
    if getattr(estimator, "feature_names_in_", None) is not None:
        return frame[features].reset_index(drop=True)
    return X


def predict_source(estimator: Any, X: Any, task: str, classes: Sequence[Any] | None = None) -> Prediction:
    if task == "regression":
        return Prediction(values=np.asarray(estimator.predict(X), dtype=np.float64).reshape(-1))
    proba = None
    if hasattr(estimator, "predict_proba"):
        proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
        est_classes = getattr(estimator, "classes_", None)
        if est_classes is not None and classes is not None and proba.shape[1] == len(classes):
            # align the columns to the served model's class order
            order = {c: i for i, c in enumerate(as_labels(est_classes).tolist())}
            wanted = as_labels(classes).tolist()
            if all(c in order for c in wanted):
                proba = proba[:, [order[c] for c in wanted]]
    labels = as_labels(estimator.predict(X))
    return Prediction(labels=labels, proba=proba)
