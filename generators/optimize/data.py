"""The rows the optimizer works on: evaluation rows (accuracy budget) and calibration rows (quantization
calibration, pruning refits, distillation). Read with the readiness loader so both checks see the same data.

Calibration uses ``data.train`` when the spec has it, else ``data.sample``, else the evaluation rows (the
report says so: calibrating on the rows that judge the budget flatters the candidates).

A model with one input per column (strings, booleans, integers: ``_shared/feeds.per_column``) is fed through
the signature's feature binding: ``eval_feeds``/``calib_feeds`` hold its feeds, ``x_eval`` is the evaluation
table and ``calib`` is empty (the passes that need a float matrix decline such a model, with the reason).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from mlready.engine.errors import StepError


@dataclass(frozen=True)
class OptimizeData:
    x_eval: Any  # float32 matrix; for a per-column model, the DataFrame of the feature columns
    y_eval: np.ndarray
    calib: np.ndarray  # float32 (empty [0, 0] for a per-column model)
    calib_source: str  # "data.train" | "data.sample" | "data.eval"
    features: list[str]
    eval_feeds: dict[str, np.ndarray] = field(default_factory=dict)  # the evaluation rows as ONNX feeds
    calib_feeds: dict[str, np.ndarray] = field(default_factory=dict)  # calibration rows as ONNX feeds
    binding: list[dict[str, Any]] | None = None  # the signature's features, when the model is per-column

    @property
    def rows(self) -> int:
        return len(self.y_eval)

    @property
    def calib_rows(self) -> int:
        return len(next(iter(self.calib_feeds.values()))) if self.calib_feeds else len(self.calib)


def _tables(spec: Any, signature: dict[str, Any], max_calib: int) -> OptimizeData:
    from mlready.generators._shared.data import load_table
    from mlready.generators._shared.feeds import frame_feeds

    binding = signature["features"]
    inputs = signature["inputs"]
    names = [f["name"] for f in binding]
    kw = dict(target=spec.data.target, task=signature.get("task", "classification"), features=names)
    ev = load_table(spec.resolve(spec.data.eval), spec.data.eval, **kw)
    calib, source = ev, "data.eval"
    for key in ("train", "sample"):
        path = getattr(spec.data, key)
        if path:
            calib, source = load_table(spec.resolve(path), path, require_target=False, **kw), f"data.{key}"
            break
    if ev.y is None:
        raise ValueError(f"{spec.data.eval}: no target column")  # load_table requires it: not reached
    return OptimizeData(
        x_eval=ev.X,
        y_eval=ev.y,
        calib=np.zeros((0, 0), dtype=np.float32),
        calib_source=source,
        features=names,
        eval_feeds=frame_feeds(ev.X, inputs, binding, ev.name),
        calib_feeds=frame_feeds(calib.X.iloc[:max_calib].reset_index(drop=True), inputs, binding, calib.name),
        binding=binding,
    )


def load(spec: Any, signature: dict[str, Any], max_calib: int = 2000) -> OptimizeData:
    from mlready.generators._shared.data import load_dataset
    from mlready.generators._shared.feeds import per_column

    if not spec.data.eval:
        raise StepError("model.optimize: the accuracy budget needs evaluation data; set data.eval")
    if per_column(signature.get("features")):
        return _tables(spec, signature, max_calib)
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
    calib = np.ascontiguousarray(calib[:max_calib], dtype=np.float32)
    if ev.y is None:
        raise ValueError(f"{spec.data.eval}: no target column")  # load_dataset requires it: not reached
    x_eval = np.ascontiguousarray(ev.X, dtype=np.float32)
    name = inputs[0]["name"] if inputs else "input"
    return OptimizeData(
        x_eval=x_eval,
        y_eval=ev.y,
        calib=calib,
        calib_source=source,
        features=ev.features,
        eval_feeds={name: x_eval},
        calib_feeds={name: calib},
    )
