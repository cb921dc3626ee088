"""The rows the optimizer works on: evaluation rows (accuracy budget) and calibration rows (quantization
calibration, pruning refits, distillation). Read with the readiness loader so both checks see the same data.

Calibration uses ``data.train`` when the spec has it, else ``data.sample``, else the evaluation rows (the
report says so: calibrating on the rows that judge the budget flatters the candidates).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from mlready.engine.errors import StepError


@dataclass(frozen=True)
class OptimizeData:
    x_eval: np.ndarray  # float32
    y_eval: np.ndarray
    calib: np.ndarray  # float32
    calib_source: str  # "data.train" | "data.sample" | "data.eval"
    features: list[str]


def load(spec: Any, signature: dict[str, Any], max_calib: int = 2000) -> OptimizeData:
    from mlready.generators._shared.data import load_dataset

    if not spec.data.eval:
        raise StepError("model.optimize: the accuracy budget needs evaluation data; set data.eval")
    inputs = signature.get("inputs", [])
    n_features = inputs[0]["shape"][-1] if inputs and inputs[0].get("shape") else None
    kw = dict(
        target=spec.data.target,
        task=signature.get("task", "classification"),
        spec_features=spec.data.features,
        model_features=signature.get("feature_names"),
        n_features=n_features if isinstance(n_features, int) and n_features > 0 else None,
        input_name=inputs[0]["name"] if inputs else "input",
    )
    ev = load_dataset(spec.resolve(spec.data.eval), spec.data.eval, **kw)
    calib, source = ev.X, "data.eval"
    for key in ("train", "sample"):
        path = getattr(spec.data, key)
        if path:
            calib = load_dataset(spec.resolve(path), path, require_target=False, **kw).X
            source = f"data.{key}"
            break
    calib = calib[:max_calib]
    if ev.y is None:
        raise ValueError(f"{spec.data.eval}: no target column")  # load_dataset requires it: not reached
    return OptimizeData(
        x_eval=np.ascontiguousarray(ev.X, dtype=np.float32),
        y_eval=ev.y,
        calib=np.ascontiguousarray(calib, dtype=np.float32),
        calib_source=source,
        features=ev.features,
    )
