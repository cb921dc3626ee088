"""Structured pruning: remove whole hidden units of MatMul/Gemm chains so the matrices really shrink.

A *chain link* is ``dense → [bias Add] → elementwise activation → dense``. Removing hidden unit ``j`` drops
column ``j`` of the first weight (and bias ``j``) and row ``j`` of the second weight. Units are ranked by
their contribution on the calibration data, ``mean|a_j| · ‖W2[j,:]‖``; then (``refit``) the next layer's
weight and bias are refit by ridge least squares so its pre-activations match the unpruned model's on the
calibration data. Layers are pruned front to back, each measured on the already-pruned model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
import onnxruntime as ort
from mlready.generators._shared.onnx_model import DENSE_OPS, initializers, require_dense
from mlready.generators.optimize.passes.base import PassContext, PassSkipped, UnsupportedOperator
from onnx import helper, numpy_helper

ACTIVATIONS = {"Relu", "Tanh", "Sigmoid", "LeakyRelu", "Elu", "Selu", "Softplus", "Identity", "HardSigmoid"}


@dataclass
class Link:
    dense1: onnx.NodeProto
    bias1: onnx.NodeProto | None  # an Add with a constant [h] bias, or None (Gemm carries C itself)
    act: onnx.NodeProto
    dense2: onnx.NodeProto
    bias2: onnx.NodeProto | None


def _consumers(model: onnx.ModelProto) -> dict[str, list[onnx.NodeProto]]:
    out: dict[str, list[onnx.NodeProto]] = {}
    for n in model.graph.node:
        for i in n.input:
            out.setdefault(i, []).append(n)
    return out


def _trans_b(node: onnx.NodeProto) -> bool:
    return node.op_type == "Gemm" and any(a.name == "transB" and a.i for a in node.attribute)


def _only(cons: dict[str, list[onnx.NodeProto]], tensor: str) -> onnx.NodeProto | None:
    users = cons.get(tensor, [])
    return users[0] if len(users) == 1 else None


def _bias_add(node, cons, inits) -> onnx.NodeProto | None:
    nxt = _only(cons, node.output[0])
    if nxt is not None and nxt.op_type == "Add" and any(i in inits for i in nxt.input):
        return nxt
    return None


def find_links(model: onnx.ModelProto) -> list[Link]:
    inits, cons = initializers(model), _consumers(model)
    outputs = {o.name for o in model.graph.output}
    links = []
    for node in model.graph.node:
        if node.op_type not in DENSE_OPS or len(node.input) < 2 or node.input[1] not in inits:
            continue
        if any(a.name == "transA" and a.i for a in node.attribute):
            raise UnsupportedOperator("structured pruning", "Gemm", node.name, "transA=1")
        bias1 = _bias_add(node, cons, inits)
        tail = bias1 or node
        act = _only(cons, tail.output[0])
        if act is None or act.op_type in DENSE_OPS or tail.output[0] in outputs:
            continue
        if act.op_type not in ACTIVATIONS:
            nxt = _only(cons, act.output[0])
            if nxt is not None and nxt.op_type in DENSE_OPS:  # dense → X → dense with X unknown
                raise UnsupportedOperator("structured pruning", act.op_type, act.name,
                                          "not an elementwise activation between dense layers")
            continue
        dense2 = _only(cons, act.output[0])
        if dense2 is None or dense2.op_type not in DENSE_OPS or dense2.input[0] != act.output[0]:
            continue
        if dense2.input[1] not in inits:
            continue
        links.append(Link(node, bias1, act, dense2, _bias_add(dense2, cons, inits)))
    return links


def _arr(inits, name) -> np.ndarray:
    return numpy_helper.to_array(inits[name])


def _set(inits, name, value: np.ndarray) -> None:
    inits[name].CopyFrom(numpy_helper.from_array(np.ascontiguousarray(value, dtype=np.float32), name))


def _weight(inits, node) -> np.ndarray:  # oriented [in, out]
    w = _arr(inits, node.input[1])
    return w.T if _trans_b(node) else w


def _set_weight(inits, node, w: np.ndarray) -> None:
    _set(inits, node.input[1], w.T if _trans_b(node) else w)


def _bias_name(inits, dense, add) -> str | None:
    if dense.op_type == "Gemm" and len(dense.input) > 2 and dense.input[2] in inits:
        return dense.input[2]
    if add is not None:
        return next(i for i in add.input if i in inits)
    return None


def _run(model: onnx.ModelProto, x: np.ndarray, tensors: list[str]) -> list[np.ndarray]:
    m = onnx.ModelProto()
    m.CopyFrom(model)
    del m.graph.output[:]
    m.graph.output.extend(helper.make_tensor_value_info(t, onnx.TensorProto.FLOAT, None) for t in tensors)
    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return sess.run(tensors, {model.graph.input[0].name: x})


def _check_shared(model: onnx.ModelProto, names: list[str]) -> None:
    uses: dict[str, int] = {}
    for n in model.graph.node:
        for i in n.input:
            uses[i] = uses.get(i, 0) + 1
    for name in names:
        if uses.get(name, 0) != 1:
            raise PassSkipped(f"structured pruning: weight {name!r} is shared by several nodes")


def prune_link(model, link: Link, x: np.ndarray, target: np.ndarray, ratio: float, refit: bool) -> int:
    inits = initializers(model)
    w1, w2 = _weight(inits, link.dense1), _weight(inits, link.dense2)
    b1n, b2n = _bias_name(inits, link.dense1, link.bias1), _bias_name(inits, link.dense2, link.bias2)
    _check_shared(model, [n for n in (link.dense1.input[1], link.dense2.input[1], b1n, b2n) if n])
    h = w1.shape[1]
    keep_n = max(1, int(round(h * (1 - ratio))))
    (acts,) = _run(model, x, [link.act.output[0]])
    score = np.abs(acts).mean(axis=0) * np.linalg.norm(w2, axis=1)
    keep = np.sort(np.argsort(-score, kind="stable")[:keep_n])
    _set_weight(inits, link.dense1, w1[:, keep])
    if b1n:
        _set(inits, b1n, _arr(inits, b1n).reshape(-1)[keep])
    w2_new = w2[keep, :]
    if refit and b2n:
        a = np.hstack([acts[:, keep].astype(np.float64), np.ones((len(acts), 1))])
        lam = 1e-3 * len(a)
        coef = np.linalg.solve(a.T @ a + lam * np.eye(a.shape[1]), a.T @ target.astype(np.float64))
        w2_new, b2 = coef[:-1], coef[-1]
        _set(inits, b2n, b2.reshape(_arr(inits, b2n).shape))
    _set_weight(inits, link.dense2, w2_new)
    return h - keep_n


def _pre_activation(link: Link) -> str:
    return (link.bias2 or link.dense2).output[0]


def apply(model: onnx.ModelProto, ctx: PassContext) -> onnx.ModelProto:
    require_dense(model, "structured pruning", minimum=2)
    cfg = ctx.cfg.structured_prune
    out = onnx.ModelProto()
    out.CopyFrom(model)
    links = find_links(out)
    if not links:
        raise PassSkipped("structured pruning: no dense → activation → dense chain to shrink")
    x = ctx.calib
    targets = _run(model, x, [_pre_activation(link) for link in links])
    removed = [prune_link(out, link, x, t, cfg.ratio, cfg.refit) for link, t in zip(links, targets, strict=True)]
    # the shapes changed: drop stale value_info so checkers and onnxruntime re-infer them
    del out.graph.value_info[:]
    out.doc_string = f"structured pruning removed {sum(removed)} hidden units ({', '.join(map(str, removed))})"
    return out
