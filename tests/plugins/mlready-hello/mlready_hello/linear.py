"""The ``linear`` model format: a JSON file ``{"coef": [...], "intercept": x}`` (suffix ``.lin``), served as
the ONNX graph ``input @ coef + intercept``. A whole format in one module plus one entry-point line — the
shape the model generator's README asks of new formats."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlready.engine.formats import ModelFormat

FORMAT = ModelFormat(
    name="linear",
    title="linear JSON",
    load="mlready_hello.linear:load",
    suffixes=(".lin",),
    source_model=True,  # the coefficients predict in numpy too: readiness compares them with the ONNX graph
)


class LinearPredictor:
    def __init__(self, coef: Any, intercept: float):
        self.coef, self.intercept = coef, intercept

    def predict(self, X: Any) -> Any:
        import numpy as np

        return (np.asarray(X, dtype=np.float64) @ self.coef.astype(np.float64) + self.intercept).reshape(-1)


def load(spec: Any, path: Path | None, sample: Any) -> Any:
    import json

    import numpy as np
    from mlready.generators.model.source import ModelSourceError, SourceModel
    from onnx import TensorProto, helper, numpy_helper

    assert path is not None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        coef = np.asarray(data["coef"], dtype=np.float32).reshape(-1, 1)
        intercept = float(data.get("intercept", 0.0))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelSourceError(f"{path}: not a linear model ({{\"coef\": [...], \"intercept\": x}}): {exc}") from None
    if coef.size == 0:
        raise ModelSourceError(f"{path}: coef is empty")
    name = spec.model.input_name
    graph = helper.make_graph(
        [helper.make_node("MatMul", [name, "coef"], ["z"]), helper.make_node("Add", ["z", "intercept"], ["prediction"])],
        "linear",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, [None, coef.shape[0]])],
        [helper.make_tensor_value_info("prediction", TensorProto.FLOAT, [None, 1])],
        [numpy_helper.from_array(coef, "coef"), numpy_helper.from_array(np.float32([intercept]), "intercept")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", spec.model.opset)],
                              producer_name="mlready", ir_version=8)
    return SourceModel(onnx_model=model, estimator=LinearPredictor(coef, intercept), task="regression",
                       notes=[f"linear model with {coef.shape[0]} coefficients"])
