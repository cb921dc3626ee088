"""Read-only facts about an ONNX model that decide which transformations apply (the optimizer's passes, the
edge bundle's int8 variant), and :class:`PassSkipped`, the way a transformation declines a model."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import numpy_helper

TREE_OPS = {"TreeEnsembleClassifier", "TreeEnsembleRegressor", "TreeEnsemble"}
DENSE_OPS = {"MatMul", "Gemm"}


class PassSkipped(Exception):  # noqa: N818 - a decision, not a failure
    """The transformation does not apply to this model; the message is the reason shown in the report."""


@dataclass(frozen=True)
class ModelFacts:
    op_counts: dict[str, int]
    dense_layers: int  # MatMul/Gemm nodes with a constant 2-D weight
    tree_ensemble: bool
    opset: int
    ml_opset: int | None

    @property
    def family(self) -> str:
        if self.tree_ensemble:
            return "tree ensemble"
        return "neural network" if self.dense_layers else "other"


def initializers(model: onnx.ModelProto) -> dict[str, onnx.TensorProto]:
    return {t.name: t for t in model.graph.initializer}


def dense_weight(node: onnx.NodeProto, inits: dict[str, onnx.TensorProto]) -> np.ndarray | None:
    """The constant 2-D weight of a MatMul/Gemm node, oriented [in, out], else None."""
    if node.op_type not in DENSE_OPS or len(node.input) < 2 or node.input[1] not in inits:
        return None
    w = numpy_helper.to_array(inits[node.input[1]])
    if w.ndim != 2:
        return None
    if node.op_type == "Gemm" and any(a.name == "transB" and a.i for a in node.attribute):
        w = w.T
    return w


def facts(model: onnx.ModelProto) -> ModelFacts:
    inits = initializers(model)
    ops = Counter(n.op_type for n in model.graph.node)
    dense = sum(1 for n in model.graph.node if dense_weight(n, inits) is not None)
    opsets = {o.domain: o.version for o in model.opset_import}
    return ModelFacts(
        op_counts=dict(sorted(ops.items())),
        dense_layers=dense,
        tree_ensemble=bool(TREE_OPS & set(ops)),
        opset=opsets.get("", opsets.get("ai.onnx", 0)),
        ml_opset=opsets.get("ai.onnx.ml"),
    )


def require_dense(model: onnx.ModelProto, pass_name: str, minimum: int = 1) -> ModelFacts:
    f = facts(model)
    if f.dense_layers < minimum:
        what = "a tree ensemble" if f.tree_ensemble else "a model"
        raise PassSkipped(
            f"{pass_name} does not apply: {what} without {'dense layers' if minimum == 1 else f'{minimum} chained dense layers'} "
            f"(MatMul/Gemm with constant weights); operators: {', '.join(f.op_counts)}"
        )
    return f


def annotate_types(model: onnx.ModelProto, row: np.ndarray | dict[str, np.ndarray]) -> onnx.ModelProto:
    """Add value_info for every tensor whose type shape inference left unknown, read off a real run.

    onnx/onnxruntime shape inference cannot see through ``ai.onnx.ml`` operators (skl2onnx's Scaler, ...);
    the quantizers then skip the tensors behind them, and OpenVINO's CPU plug-in refuses a subgraph input of
    unknown rank. The leading (batch) dimension is kept dynamic.
    """
    import onnxruntime as ort
    from onnx import helper

    model = onnx.shape_inference.infer_shapes(model)
    # a value_info without a shape leaves the rank dynamic, which OpenVINO's CPU plug-in refuses: redo those
    shapeless = [v for v in model.graph.value_info if not v.type.tensor_type.HasField("shape")]
    for v in shapeless:
        model.graph.value_info.remove(v)
    known = {v.name for v in (*model.graph.value_info, *model.graph.input, *model.graph.output)}
    known |= {t.name for t in model.graph.initializer}
    missing = [o for n in model.graph.node for o in n.output if o and o not in known]
    if not missing:
        return model
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    del probe.graph.output[:]
    probe.graph.output.extend(onnx.ValueInfoProto(name=t) for t in missing)
    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(probe.SerializeToString(), so, providers=["CPUExecutionProvider"])
    # one row: a float matrix for the first input, or feeds by input name (one input per column)
    feeds = row if isinstance(row, dict) else {model.graph.input[0].name: row}
    # two batch sizes: a dimension that follows the batch is dynamic, wherever it sits (ArrayFeatureExtractor
    # returns [1, N]); the others are fixed
    two = sess.run(missing, {k: np.repeat(v[:1], 2, axis=0) for k, v in feeds.items()})
    three = sess.run(missing, {k: np.repeat(v[:1], 3, axis=0) for k, v in feeds.items()})
    for name, a, b in zip(missing, two, three, strict=True):
        elem = helper.np_dtype_to_tensor_dtype(np.asarray(a).dtype)
        shape = [d2 if d2 == d3 else "N" for d2, d3 in zip(np.shape(a), np.shape(b), strict=True)]
        if np.ndim(a) != np.ndim(b):
            continue  # rank depends on the batch: leave it to the runtime
        model.graph.value_info.append(helper.make_tensor_value_info(name, elem, shape))
    return model
