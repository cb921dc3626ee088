"""Parity between the source model and its ONNX conversion, on the same evaluation rows.

The source model sees the data as read (float64); the served ONNX model sees what the server feeds it
(float32 for an FP32 input). Label agreement and the largest absolute probability difference catch
conversion bugs such as float32 threshold flips in decision trees.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from mlready.generators._shared.scoring import Prediction

MAX_LISTED = 10


def parity(source: Prediction, served: Prediction, task: str) -> dict[str, Any]:
    """``metrics`` (parity.agreement, parity.max_abs_diff), ``undefined`` reasons, and the rows that differ."""
    metrics: dict[str, float | None] = {"parity.agreement": None, "parity.max_abs_diff": None}
    undefined: dict[str, str] = {}
    disagreements: list[dict[str, Any]] = []
    if task == "regression":
        src, out = source.regression(), served.regression()
        diff = np.abs(src - out)
        metrics["parity.max_abs_diff"] = float(diff.max()) if len(diff) else None
        undefined["parity.agreement"] = "label agreement is defined for classifiers only"
        worst = np.argsort(-diff, kind="stable")[:MAX_LISTED]
        disagreements = [
            {"row": int(i) + 1, "source": float(src[i]), "onnx": float(out[i])}
            for i in worst
            if diff[i] > 0
        ]
    else:
        same: np.ndarray = np.asarray(source.classes() == served.classes())
        metrics["parity.agreement"] = float(same.mean()) if len(same) else None
        for i in np.flatnonzero(~same)[:MAX_LISTED]:
            disagreements.append(
                {"row": int(i) + 1, "source": source.classes()[i].item(), "onnx": served.classes()[i].item()}
            )
        if source.proba is None or served.proba is None:
            who = "source model" if source.proba is None else "ONNX model"
            undefined["parity.max_abs_diff"] = f"the {who} gives no class probabilities"
        elif source.proba.shape != served.proba.shape:
            undefined["parity.max_abs_diff"] = (
                f"probability shapes differ: source {list(source.proba.shape)}, onnx {list(served.proba.shape)}"
            )
        else:
            metrics["parity.max_abs_diff"] = float(np.abs(source.proba - served.proba).max())
    return {
        "metrics": metrics,
        "undefined": undefined,
        "rows": int(len(source.labels if source.labels is not None else source.regression())),
        "disagreements": disagreements,
        "disagreement_count": int((~same).sum()) if task != "regression" else None,
    }
