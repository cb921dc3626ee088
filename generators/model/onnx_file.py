"""ONNX files: checked with the ONNX checker and served as they are."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlready.engine.formats import ModelFormat
from mlready.generators.model.source import ModelSourceError, SourceModel

if TYPE_CHECKING:
    import pandas as pd

FORMAT = ModelFormat(
    name="onnx",
    title="ONNX",
    load="mlready.generators.model.onnx_file:load",
    suffixes=(".onnx",),
    mlflow_flavor=("onnx", "data"),
    source_model=False,  # served as it is: nothing to compare the ONNX model with, nothing to refit
)


def load(spec, path: Path | None, sample: pd.DataFrame | None) -> SourceModel:
    import onnx

    assert path is not None
    try:
        model = onnx.load_model(str(path))
        onnx.checker.check_model(model)
    except Exception as exc:  # onnx raises DecodeError, ValidationError, ...
        first = str(exc).strip().split("\n")[0] or type(exc).__name__
        raise ModelSourceError(f"{path}: not a valid ONNX model: {first}") from None
    outputs = [o.name for o in model.graph.output]
    task = spec.model.task
    if task == "auto":
        task = "classification" if any(n in ("label", "output_label") for n in outputs) else "regression"
    return SourceModel(onnx_model=model, estimator=None, task=task, notes=["served as given (ONNX)"])
