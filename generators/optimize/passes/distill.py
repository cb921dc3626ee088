"""Knowledge distillation for tabular models: a smaller student learns the teacher's soft labels.

The teacher is the baseline ONNX model itself, run with onnxruntime on the calibration rows plus jittered
copies of them (Gaussian noise scaled by each feature's spread), so no source estimator is needed.
Classification students regress the teacher's log-probabilities (MLP, softmax on top) or probabilities (random
forest, renormalised); regression students regress the teacher's output. The student is converted with
skl2onnx and given the baseline's input and output names; the teacher's label head (``probabilities`` →
``label``, e.g. ArgMax + class lookup) is copied, so labels keep their values and types.
"""

from __future__ import annotations

import warnings

import numpy as np
import onnx
import onnxruntime as ort
from mlready.generators._shared.onnx_model import facts
from mlready.generators.optimize.passes.base import PassContext, PassSkipped
from onnx import helper
from sklearn.exceptions import ConvergenceWarning

EPS = 1e-6


def teacher_outputs(model: onnx.ModelProto, x: np.ndarray) -> dict[str, np.ndarray]:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, {sess.get_inputs()[0].name: x}), strict=True))


def transfer_set(x: np.ndarray, copies: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scale = x.std(axis=0, keepdims=True) * 0.1
    jitter = [x + rng.normal(size=x.shape).astype(np.float32) * scale for _ in range(copies)]
    return np.vstack([x, *jitter]).astype(np.float32)


def _label_head(teacher: onnx.ModelProto, probs: str, label: str) -> tuple[list, list]:
    """Nodes and initializers computing ``label`` from ``probs`` in the teacher (renamed to avoid clashes)."""
    producers = {o: n for n in teacher.graph.node for o in n.output}
    inits = {t.name: t for t in teacher.graph.initializer}
    nodes, used, todo, seen = [], [], [label], set()
    while todo:
        t = todo.pop()
        if t in seen or t == probs or t == "":
            continue
        seen.add(t)
        if t in inits:
            used.append(inits[t])
            continue
        if t not in producers:
            raise PassSkipped(f"distillation: the teacher's {label!r} does not derive from {probs!r} alone")
        nodes.append(producers[t])
        todo.extend(producers[t].input)
    order = [n for n in teacher.graph.node if n in nodes]

    def rn(name: str) -> str:
        return name if name in (probs, label, "") else f"teacher_head/{name}"

    new_nodes = [helper.make_node(n.op_type, [rn(i) for i in n.input], [rn(o) for o in n.output],
                                  name=rn(n.name or n.output[0]), domain=n.domain) for n in order]
    for new, old in zip(new_nodes, order, strict=True):
        new.attribute.extend(old.attribute)
    new_inits = []
    for t in used:
        c = onnx.TensorProto()
        c.CopyFrom(t)
        c.name = rn(t.name)
        new_inits.append(c)
    return new_nodes, new_inits


def _finish(student: onnx.ModelProto, teacher: onnx.ModelProto, task: str, kind: str, width: int) -> onnx.ModelProto:
    g = student.graph
    t_outs = [o.name for o in teacher.graph.output]
    src = g.output[0].name
    del g.output[:]
    for node in g.node:  # free the student's output name: the teacher's outputs may use it ('variable')
        node.input[:] = ["student_out" if i == src else i for i in node.input]
        node.output[:] = ["student_out" if o == src else o for o in node.output]
    src = "student_out"
    # skl2onnx declares multi-output regressors as [N, 1] (MLPRegressor even flattens to [N*k, 1]): reshape
    raw = "student_raw"
    g.initializer.append(helper.make_tensor("student_shape", onnx.TensorProto.INT64, [2], [-1, width]))
    g.node.append(helper.make_node("Reshape", [src, "student_shape"], [raw], name="student_reshape"))
    if task == "classification":
        probs, label = t_outs[1], t_outs[0]
        if kind == "mlp":
            g.node.append(helper.make_node("Softmax", [raw], [probs], name="student_softmax", axis=-1))
        else:
            g.node.append(helper.make_node("Clip", [raw, "student_zero"], ["student_clipped"], name="student_clip"))
            g.node.append(helper.make_node("ReduceSum", ["student_clipped", "student_axes"], ["student_sum"],
                                           name="student_sum", keepdims=1))
            g.node.append(helper.make_node("Max", ["student_sum", "student_eps"], ["student_den"], name="student_max"))
            g.node.append(helper.make_node("Div", ["student_clipped", "student_den"], [probs], name="student_norm"))
            g.initializer.extend([
                helper.make_tensor("student_zero", onnx.TensorProto.FLOAT, [], [0.0]),
                helper.make_tensor("student_eps", onnx.TensorProto.FLOAT, [], [EPS]),
                helper.make_tensor("student_axes", onnx.TensorProto.INT64, [1], [1]),
            ])
        nodes, inits = _label_head(teacher, probs, label)
        g.node.extend(nodes)
        g.initializer.extend(inits)
    else:
        g.node.append(helper.make_node("Identity", [raw], [t_outs[0]], name="student_output"))
    g.output.extend(teacher.graph.output)
    have = {o.domain for o in student.opset_import}
    for o in teacher.opset_import:
        if o.domain not in have:
            student.opset_import.append(o)
    onnx.checker.check_model(student)
    return student


def distill(model: onnx.ModelProto, ctx: PassContext, kind: str) -> onnx.ModelProto:
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    f = facts(model)
    if len(model.graph.input) != 1:
        raise PassSkipped("distillation: the teacher must have exactly one input tensor")
    outs = [o.name for o in model.graph.output]
    if ctx.task == "classification" and len(outs) != 2:
        raise PassSkipped(f"distillation: expected outputs (label, probabilities), got {outs}")
    cfg = ctx.cfg.distill
    x = transfer_set(ctx.calib, cfg.augment, cfg.seed)
    y_t = teacher_outputs(model, x)
    if ctx.task == "classification":
        probs = y_t[outs[1]]
        target = np.log(np.clip(probs, EPS, 1.0)) if kind == "mlp" else probs
    else:
        target = y_t[outs[0]].reshape(len(x), -1)
        target = target[:, 0] if target.shape[1] == 1 else target
    student = _student(kind, cfg)
    with warnings.catch_warnings():  # a student that stops early is still measured like any candidate
        warnings.simplefilter("ignore", ConvergenceWarning)
        student.fit(x, target)
    name = model.graph.input[0].name
    onx = to_onnx(student, initial_types=[(name, FloatTensorType([None, x.shape[1]]))],
                  target_opset={"": f.opset, "ai.onnx.ml": f.ml_opset or 3})
    width = 1 if target.ndim == 1 else target.shape[1]
    out = _finish(onx, model, ctx.task, kind, width)
    _check_student(out, student.predict(x[:64]).reshape(64, width), x[:64])
    out.doc_string = f"distilled {kind} student trained on {len(x)} rows labelled by the teacher"
    return out


def _check_student(model: onnx.ModelProto, expected: np.ndarray, x: np.ndarray) -> None:
    """The converted student must compute what the fitted one does (guards converter shape quirks)."""
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    probe.graph.output.append(onnx.ValueInfoProto(name="student_raw"))
    sess = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    got = sess.run(["student_raw"], {model.graph.input[0].name: x})[0]
    if got.shape != expected.shape or not np.allclose(got, expected, atol=1e-3, rtol=1e-3):
        raise RuntimeError("distillation: the converted student disagrees with the fitted one")


def _student(kind: str, cfg):
    if kind == "mlp":
        from sklearn.neural_network import MLPRegressor
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), MLPRegressor(
            hidden_layer_sizes=tuple(cfg.mlp_hidden), max_iter=300, early_stopping=True,
            random_state=cfg.seed, n_iter_no_change=10))
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(n_estimators=cfg.trees, max_depth=cfg.max_depth, random_state=cfg.seed, n_jobs=1)


def apply_mlp(model: onnx.ModelProto, ctx: PassContext) -> onnx.ModelProto:
    return distill(model, ctx, "mlp")


def apply_trees(model: onnx.ModelProto, ctx: PassContext) -> onnx.ModelProto:
    return distill(model, ctx, "trees")
