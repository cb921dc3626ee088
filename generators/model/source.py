"""The source model, loaded and converted to ONNX. Each format has a loader with the same signature:

    load(spec: Spec, path: Path | None, sample: pandas.DataFrame | None) -> SourceModel

``path`` is the resolved model file (None for a trainer), ``sample`` a few rows of the evaluation data's
feature columns (in the data's column order, with their original dtypes: strings stay strings, missing values
stay missing) when the spec names data, else None. Loaders raise :class:`ModelSourceError` with a message
naming the file and the operator/estimator/column that failed.

:func:`signature` builds ``model/signature.json``: ``inputs``/``outputs`` (KServe v2 tensor descriptions),
``task``, ``classes`` and ``class_names`` (classifiers), ``feature_names`` and ``features``, the binding of
each feature column the caller sends to an ONNX input (and its position in that input's last dimension;
``_shared/feeds.py`` derives it and turns data into feeds with it)::

    {"name": "state", "datatype": "BYTES", "input": "state", "index": null}      # one input per column
    {"name": "mean radius", "datatype": "FP32", "input": "input", "index": 0}  # a numeric matrix input
"""

from __future__ import annotations

from collections.abc import Sequence
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
    #: the feature binding (see the module docstring); None: derived by ``bind_features`` from the graph's
    #: inputs and the feature names (or the sample's columns). A loader that knows better (several named
    #: inputs of several columns each) fills it.
    features: list[dict[str, Any]] | None = None


def tensor_specs(values: Any) -> list[dict[str, Any]]:
    """KServe v2 tensor descriptions of ONNX graph inputs/outputs (-1 for dynamic dims)."""
    out = []
    for v in values:
        t = v.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim]
        out.append({"name": v.name, "datatype": ONNX_TO_V2.get(t.elem_type, str(t.elem_type)), "shape": dims})
    return out


def graph_inputs(onnx_model: Any) -> list[dict[str, Any]]:
    """The v2 descriptions of the inputs a caller feeds (initializers listed as inputs left out)."""
    graph = onnx_model.graph
    initializers = {i.name for i in graph.initializer}
    return tensor_specs([i for i in graph.input if i.name not in initializers])


def class_display_names(classes: Sequence[Any], spec_names: Sequence[str] | None, origin: str) -> list[str]:
    """``model.class_names`` (checked against the fitted classes), else the classes as strings."""
    if spec_names is None:
        return [str(c.item() if hasattr(c, "item") else c) for c in classes]
    if len(spec_names) != len(classes):
        shown = ", ".join(str(c) for c in classes)
        raise ModelSourceError(
            f"model.class_names: {len(spec_names)} name(s) for the {len(classes)} classes of {origin} "
            f"({shown}); list one name per class, in this order"
        )
    return [str(n) for n in spec_names]


def signature(
    model_name: str,
    version: int,
    src: SourceModel,
    columns: Sequence[str] | None = None,
    class_names: Sequence[str] | None = None,
    origin: str = "the model",
) -> dict[str, Any]:
    """The signature of the served model; ``columns`` are the data's feature columns (when the model does not
    name its features), ``class_names`` the spec's ``model.class_names``."""
    from mlready.generators._shared.feeds import bind_features  # numpy/pandas: not at registry load

    inputs = graph_inputs(src.onnx_model)
    sig: dict[str, Any] = {
        "name": model_name,
        "version": version,
        "task": src.task,
        "inputs": inputs,
        "outputs": tensor_specs(src.onnx_model.graph.output),
    }
    if src.classes is not None:
        sig["classes"] = [c.item() if hasattr(c, "item") else c for c in src.classes]
        sig["class_names"] = class_display_names(src.classes, class_names, origin)
    elif class_names is not None:
        why = f"is not a classifier (task {src.task})" if src.task != "classification" else "does not say its classes"
        raise ModelSourceError(f"model.class_names: {origin} {why}; remove model.class_names")
    if src.feature_names is not None:
        sig["feature_names"] = list(src.feature_names)
    features = src.features if src.features is not None else bind_features(
        inputs, src.feature_names if src.feature_names is not None else columns
    )
    if features is not None:
        sig["features"] = features
    return sig
