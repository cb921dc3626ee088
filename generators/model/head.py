"""The served outputs of a network: ``label`` + ``probabilities`` for a classifier, ``prediction`` for a
regression, appended to an ONNX graph whose network ends in one score tensor ``[batch, k]``.

Converted scikit-learn classifiers answer ``label`` (INT64 ``[batch]``) and ``probabilities`` (FP32
``[batch, n_classes]``); networks (Keras, TensorFlow) get the same outputs from this head, so the readiness
checks, the server and the answers in every protocol need no per-framework case. ``activation`` says what the
scores are:

- ``softmax``: logits of k >= 2 classes (a softmax is added);
- ``sigmoid``: one logit of a binary classifier (sigmoid, then ``[1 - p, p]``);
- ``None``: already probabilities (k >= 2 columns, or one column ``p`` of the positive class).

:func:`postprocess` computes the same in numpy, for the source model's predictor (parity checks).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

SCORES = "mlready_scores"  # the network's score tensor, before the head


def postprocess(scores: np.ndarray, task: str, classes: Sequence[Any], activation: str | None
                ) -> tuple[np.ndarray, np.ndarray | None]:
    """What the appended ONNX nodes compute: (labels, probabilities) or (predictions, None)."""
    import numpy as np

    scores = np.asarray(scores, dtype=np.float64)
    if task != "classification":
        return scores.reshape(-1), None
    if scores.ndim == 1 or scores.shape[1] == 1:
        p1 = scores.reshape(-1, 1)
        if activation == "sigmoid":
            p1 = 1.0 / (1.0 + np.exp(-p1))
        proba = np.concatenate([1 - p1, p1], axis=1)
    elif activation == "softmax":
        e = np.exp(scores - scores.max(axis=1, keepdims=True))
        proba = e / e.sum(axis=1, keepdims=True)
    else:
        proba = scores
    return np.asarray(classes)[np.argmax(proba, axis=1)], proba


def append_head(onx: Any, scores: str, task: str, classes: Sequence[int], activation: str | None,
                width: int) -> None:
    """Replace the graph's outputs with ``label`` + ``probabilities`` (or ``prediction``) computed from
    ``scores`` (any float type: cast to FP32 first)."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    graph = onx.graph
    declared = {o.name: o.type.tensor_type.elem_type for o in graph.output}
    del graph.output[:]
    nodes = []
    if declared.get(scores, TensorProto.FLOAT) != TensorProto.FLOAT:
        nodes.append(helper.make_node("Cast", [scores], ["mlready_scores_fp32"], to=TensorProto.FLOAT))
        scores = "mlready_scores_fp32"
    if task != "classification":
        graph.initializer.append(numpy_helper.from_array(np.array([-1, 1], dtype=np.int64), "mlready_shape"))
        nodes.append(helper.make_node("Reshape", [scores, "mlready_shape"], ["prediction"]))
        graph.output.append(helper.make_tensor_value_info("prediction", TensorProto.FLOAT, ["batch", 1]))
        graph.node.extend(nodes)
        return
    if width == 1:
        graph.initializer.append(numpy_helper.from_array(np.array(1.0, dtype=np.float32), "mlready_one"))
        graph.initializer.append(numpy_helper.from_array(np.array([-1, 1], dtype=np.int64), "mlready_column"))
        nodes.append(helper.make_node("Reshape", [scores, "mlready_column"], ["mlready_s1"]))
        p1 = "mlready_s1"
        if activation == "sigmoid":
            nodes.append(helper.make_node("Sigmoid", [p1], ["mlready_p1"]))
            p1 = "mlready_p1"
        nodes += [
            helper.make_node("Sub", ["mlready_one", p1], ["mlready_p0"]),
            helper.make_node("Concat", ["mlready_p0", p1], ["probabilities"], axis=1),
        ]
    elif activation == "softmax":
        nodes.append(helper.make_node("Softmax", [scores], ["probabilities"], axis=1))
    else:
        nodes.append(helper.make_node("Identity", [scores], ["probabilities"]))
    graph.initializer.append(numpy_helper.from_array(np.asarray(classes, dtype=np.int64), "mlready_classes"))
    nodes += [
        helper.make_node("ArgMax", ["probabilities"], ["mlready_argmax"], axis=1, keepdims=0),
        helper.make_node("Gather", ["mlready_classes", "mlready_argmax"], ["label"], axis=0),
    ]
    k = 2 if width == 1 else width
    graph.output.append(helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"]))
    graph.output.append(helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", k]))
    graph.node.extend(nodes)
