"""The source model, loaded and converted to ONNX. Each format has a loader with the same signature:

    load(spec: Spec, path: Path | None, sample: numpy.ndarray | None) -> SourceModel

``path`` is the resolved model file (None for a trainer), ``sample`` a few rows of the evaluation data's
feature columns (float32) when the spec names data, else None. Loaders raise :class:`ModelSourceError`
with a message naming the file and the operator/estimator/column that failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlready.engine.errors import StepError


class ModelSourceError(StepError):
    pass


ONNX_TO_V2 = {
    1: "FP32", 2: "UINT8", 3: "INT8", 5: "INT16", 6: "INT32", 7: "INT64", 8: "BYTES", 9: "BOOL",
    10: "FP16", 11: "FP64", 12: "UINT32", 13: "UINT64", 16: "BF16",
}


@dataclass
class SourceModel:
    onnx_model: Any  # onnx.ModelProto
    estimator: Any | None = None  # fitted source model with a scikit-learn API (predict/predict_proba), if any
    task: str = "classification"  # "classification" | "regression"
    classes: list[Any] | None = None
    feature_names: list[str] | None = None
    notes: list[str] = field(default_factory=list)  # what the loader did (shown in reports)


def tensor_specs(values: Any) -> list[dict[str, Any]]:
    """KServe v2 tensor descriptions of ONNX graph inputs/outputs (-1 for dynamic dims)."""
    out = []
    for v in values:
        t = v.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim]
        out.append({"name": v.name, "datatype": ONNX_TO_V2.get(t.elem_type, str(t.elem_type)), "shape": dims})
    return out


def signature(model_name: str, version: int, src: SourceModel) -> dict[str, Any]:
    graph = src.onnx_model.graph
    initializers = {i.name for i in graph.initializer}
    sig: dict[str, Any] = {
        "name": model_name,
        "version": version,
        "task": src.task,
        "inputs": tensor_specs([i for i in graph.input if i.name not in initializers]),
        "outputs": tensor_specs(graph.output),
    }
    if src.classes is not None:
        sig["classes"] = [c.item() if hasattr(c, "item") else c for c in src.classes]
    if src.feature_names is not None:
        sig["feature_names"] = list(src.feature_names)
    return sig
