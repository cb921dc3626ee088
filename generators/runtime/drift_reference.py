"""The training reference baked into the runtime config (``models.<name>.drift``) for live drift counting.

The reference rows are ``data.train`` when the spec names it, else ``data.eval`` (the rows the readiness drift
check compares a sample with), read as the readiness step reads them (``_shared/data.py``). Each feature column
is binned as the readiness PSI bins it (``_shared/psi_bins.reference_bins``, ``readiness.drift.bins`` quantile
bins), and located in the model's inputs by the signature's feature binding (or, for a one-matrix model, by
column position). The served ONNX model predicts the reference rows once: its class shares (classifiers, read from the ``label``
output, else the argmax of the probabilities) or its value bins (regressors) are the prediction reference.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlready.runtime.answers import LABEL_OUTPUTS  # the outputs the server reads a predicted class from


def _prediction(onnx: bytes, ds: Any, sig: dict[str, Any], task: str, tabular: bool, bins: int) -> dict | None:
    from mlready.generators._shared.psi_bins import reference_bins
    from mlready.generators._shared.psi_bins import rounded as _r
    from mlready.generators._shared.scoring import predict_onnx, session

    outputs = [o["name"] for o in sig.get("outputs", [])]
    classes = sig.get("classes")
    pred = predict_onnx(session(onnx), ds.X, task, classes, sig.get("features") if tabular else None, ds.name)
    if task == "regression":
        ref = reference_bins(pd.Series(pred.regression()), bins)
        return None if ref is None or not outputs else {"name": "prediction", "input": outputs[0], **ref}
    labels = [o for o in outputs if o in LABEL_OUTPUTS]
    # no label output: the runtime takes the argmax of the (probabilities) output over the classes
    source = labels[0] if labels else next((o for o in outputs if o not in LABEL_OUTPUTS), None)
    if source is None or pred.labels is None or not classes:
        return None
    values = np.asarray(pred.labels)
    if all(isinstance(c, int | float) and not isinstance(c, bool) for c in classes):
        keys = sorted(float(c) for c in classes)
        shares = [_r(float((values.astype(np.float64) == k).mean())) for k in keys]
        return {"name": "prediction", "input": source, "values": keys, "shares": [*shares, 0.0]}
    cats = sorted(str(c) for c in classes)
    strs = values.astype(str)
    return {"name": "prediction", "input": source, "categories": cats,
            "shares": [_r(float((strs == c).mean())) for c in cats] + [0.0]}


def drift_reference(onnx: bytes, sig: dict[str, Any], spec: Any, resolve: Callable[[str], Path]) -> dict | None:
    """The ``drift`` section of the model's runtime config, or None when the spec names no reference data."""
    from mlready.generators._shared.data import load_dataset, load_table
    from mlready.generators._shared.feeds import per_column
    from mlready.generators._shared.psi_bins import reference_bins

    key = "train" if spec.data.train else "eval" if spec.data.eval else None
    if key is None or not sig.get("inputs"):
        return None
    readiness = spec.optional_section("readiness")  # absent when the readiness generator is not loaded
    bins = readiness.drift.bins if readiness is not None else 10
    first = sig["inputs"][0]
    shape = first.get("shape", [])
    width = shape[1] if len(shape) == 2 and shape[1] > 0 and len(sig["inputs"]) == 1 else None
    task = sig.get("task", spec.model.task)
    name = getattr(spec.data, key)
    tabular = per_column(sig.get("features"))  # one input per column: the table as it is (as readiness reads it)
    if tabular:
        ds = load_table(resolve(name), name, target=spec.data.target, task=task,
                        features=[f["name"] for f in sig["features"]], require_target=False)
    else:
        ds = load_dataset(resolve(name), name, target=spec.data.target, task=task, spec_features=spec.data.features,
                          model_features=sig.get("feature_names"), n_features=width, input_name=first["name"],
                          input_datatype=first.get("datatype", "FP32"), require_target=False)
    if sig.get("features"):
        binding = [(f["name"], f["input"], f["index"]) for f in sig["features"]]
    elif len(sig["inputs"]) == 1:
        binding = [(c, first["name"], i) for i, c in enumerate(ds.features)]
    else:
        return None  # several inputs and no feature binding: nothing says which column feeds which input
    features = []
    for col, input_name, index in binding:
        ref = reference_bins(ds.frame[col], bins)
        if ref is not None:
            features.append({"name": str(col), "input": input_name, "index": index, **ref})
    out: dict[str, Any] = {"features": features}
    prediction = _prediction(onnx, ds, sig, task, tabular, bins)
    if prediction is not None:
        out["prediction"] = prediction
    return out
