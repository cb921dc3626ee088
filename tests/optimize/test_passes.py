"""Each pass on a real model: the contract (names, float32 IO), what the pass promises, and when it declines."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from mlready.generators._shared.onnx_model import dense_weight, facts, initializers
from mlready.generators.optimize.passes import PASSES, PassSkipped, UnsupportedOperator, run_chain
from mlready.generators.optimize.passes.structured import find_links
from onnx import helper, numpy_helper


def run(model: onnx.ModelProto, x: np.ndarray) -> list[np.ndarray]:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"input": x})


def io(model):
    return [(v.name, v.type.tensor_type.elem_type) for v in (*model.graph.input, *model.graph.output)]


def weights(model) -> list[np.ndarray]:
    inits = initializers(model)
    return [w for n in model.graph.node if (w := dense_weight(n, inits)) is not None]


@pytest.mark.parametrize("name", sorted(PASSES))
def test_every_pass_keeps_the_served_contract(name, cancer, pctx):
    base = cancer["mlp_onnx"]
    out = run_chain(name, base, pctx(base, cancer["x_train"]))
    assert io(out) == io(base)  # same names, float32 input and probabilities, int64 label
    onnx.checker.check_model(out)
    label, proba = run(out, cancer["x_eval"])
    ref_label, _ = run(base, cancer["x_eval"])
    assert proba.shape == (len(cancer["x_eval"]), 2) and proba.dtype == np.float32
    assert np.allclose(proba.sum(axis=1), 1, atol=1e-2)
    assert set(np.unique(label)) <= {0, 1}
    assert np.mean(label == ref_label) > 0.9  # a real model of the same data, not noise


def test_int8_dynamic_stores_int8_weights_and_shrinks(cancer, pctx):
    base = cancer["mlp_onnx"]
    out = run_chain("int8_dynamic", base, pctx(base, cancer["x_train"]))
    int8 = [t for t in out.graph.initializer if t.data_type == onnx.TensorProto.INT8]
    ops = facts(out).op_counts
    assert "MatMulInteger" in ops or "DynamicQuantizeMatMul" in ops
    f32_bytes = sum(w.nbytes for w in weights(base))
    matrices = [numpy_helper.to_array(t) for t in int8 if len(t.dims) == 2]  # (scalars are zero points)
    assert sum(m.nbytes for m in matrices) == f32_bytes // 4  # every dense weight, 1 byte each


@pytest.mark.parametrize("method", ["minmax", "entropy", "percentile"])
def test_int8_static_inserts_qdq_pairs_calibrated_on_data(method, cancer, pctx):
    base = cancer["mlp_onnx"]
    out = run_chain("int8_static", base, pctx(base, cancer["x_train"], int8_static={"method": method}))
    ops = facts(out).op_counts
    assert ops.get("QuantizeLinear", 0) >= 2 and ops.get("DequantizeLinear", 0) >= 2
    # activations are quantized too (not only weights): some QuantizeLinear reads a computed tensor
    inits = {t.name for t in out.graph.initializer}
    assert any(n.op_type == "QuantizeLinear" and n.input[0] not in inits for n in out.graph.node)


def test_fp16_keeps_float32_io_and_halves_weights(cancer, pctx):
    base = cancer["mlp_onnx"]
    out = run_chain("fp16", base, pctx(base, cancer["x_train"]))
    assert io(out) == io(base)
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in out.graph.initializer)
    _, p16 = run(out, cancer["x_eval"])
    _, p32 = run(base, cancer["x_eval"])
    assert np.max(np.abs(p16 - p32)) < 1e-2


def test_magnitude_pruning_zeroes_the_requested_share(cancer, pctx):
    base = cancer["mlp_onnx"]
    out = run_chain("prune", base, pctx(base, cancer["x_train"], prune={"sparsity": 0.7}))
    for w_old, w_new in zip(weights(base), weights(out), strict=True):
        assert w_new.shape == w_old.shape
        assert np.sum(w_new == 0) == round(w_old.size * 0.7)
        kept = w_new != 0
        assert np.abs(w_old[kept]).min() >= np.abs(w_old[~kept]).max()  # the smallest went


def test_structured_pruning_shrinks_the_matrices(cancer, pctx):
    base = cancer["mlp_onnx"]
    out = run_chain("structured_prune", base, pctx(base, cancer["x_train"], structured_prune={"ratio": 0.5}))
    before, after = [w.shape for w in weights(base)], [w.shape for w in weights(out)]
    assert before == [(30, 64), (64, 32), (32, 1)]
    assert after == [(30, 32), (32, 16), (16, 1)]
    label, _ = run(out, cancer["x_eval"])
    assert np.mean(label == cancer["y_eval"]) > 0.9


def test_structured_pruning_names_an_unknown_operator_between_dense_layers(cancer, pctx):
    model = onnx.ModelProto()
    model.CopyFrom(cancer["mlp_onnx"])
    relu = next(n for n in model.graph.node if n.op_type == "Relu")
    relu.op_type = "Softsign"
    relu.name = "odd_activation"
    with pytest.raises(UnsupportedOperator, match="unsupported operator 'Softsign' \\(node 'odd_activation'\\)"):
        find_links(model)
    with pytest.raises(PassSkipped, match="Softsign"):
        run_chain("structured_prune", model, pctx(model, cancer["x_train"]))


def test_distilled_students_copy_the_label_head(cancer, pctx):
    base = cancer["mlp_onnx"]
    ctx = pctx(base, cancer["x_train"], distill={"mlp_hidden": [8], "trees": 5, "max_depth": 4, "augment": 1})
    for kind in ("distill_mlp", "distill_trees"):
        out = run_chain(kind, base, ctx)
        assert "ArrayFeatureExtractor" in facts(out).op_counts  # the teacher's class lookup, copied
        label, proba = run(out, cancer["x_eval"])
        assert np.mean(label == cancer["y_eval"]) > 0.85
        assert np.array_equal(label, np.argmax(proba, axis=1))  # labels follow the student's probabilities


def test_distillation_of_a_regressor_keeps_the_output_name(diabetes, pctx):
    base = diabetes["onnx"]
    out = run_chain("distill_mlp", base, pctx(base, diabetes["x"], task="regression", distill={"augment": 1}))
    assert io(out) == io(base)
    (pred,) = run(out, diabetes["x"])
    (ref,) = run(base, diabetes["x"])
    assert pred.shape == ref.shape
    assert np.corrcoef(pred.ravel(), ref.ravel())[0, 1] > 0.8


@pytest.mark.parametrize("name,why", [
    ("int8_dynamic", "int8 quantization does not apply: a tree ensemble without dense layers"),
    ("int8_static", "int8 quantization does not apply: a tree ensemble without dense layers"),
    ("fp16", "fp16 conversion does not apply: a tree ensemble without dense layers"),
    ("prune", "pruning does not apply: a tree ensemble without dense layers"),
    ("structured_prune", "structured pruning does not apply: a tree ensemble without 2 chained dense layers"),
])
def test_passes_that_need_dense_layers_skip_a_tree_ensemble_with_the_reason(name, why, cancer, pctx):
    base = cancer["forest_onnx"]
    with pytest.raises(PassSkipped) as info:
        run_chain(name, base, pctx(base, cancer["x_train"]))
    assert str(info.value).startswith(why)
    assert "TreeEnsembleClassifier" in str(info.value)


@pytest.mark.parametrize("name", ["int8_dynamic", "int8_static", "structured_prune", "distill_mlp"])
def test_a_pass_is_deterministic(name, cancer, pctx, tmp_path):
    base = cancer["mlp_onnx"]
    ctx = pctx(base, cancer["x_train"], distill={"mlp_hidden": [8], "augment": 1})
    a = run_chain(name, base, ctx).SerializeToString(deterministic=True)
    b = run_chain(name, base, ctx).SerializeToString(deterministic=True)
    assert a == b


def test_dense_weight_reads_gemm_with_transposed_b():
    w = np.arange(6, dtype=np.float32).reshape(3, 2)  # [out=3, in=2] as Gemm(transB=1) stores it
    node = helper.make_node("Gemm", ["x", "w"], ["y"], transB=1)
    got = dense_weight(node, {"w": numpy_helper.from_array(w, "w")})
    assert got.shape == (2, 3) and np.array_equal(got, w.T)


@pytest.mark.parametrize("settings", [{"per_channel": True}, {"reduce_range": True}, {"weight_type": "quint8"}])
def test_int8_dynamic_settings_reach_the_quantizer(settings, cancer, pctx):
    base = cancer["mlp_onnx"]
    out = run_chain("int8_dynamic", base, pctx(base, cancer["x_train"], int8_dynamic=settings))
    wanted = onnx.TensorProto.UINT8 if settings.get("weight_type") == "quint8" else onnx.TensorProto.INT8
    matrices = [numpy_helper.to_array(t) for t in out.graph.initializer if len(t.dims) == 2 and t.data_type == wanted]
    assert len(matrices) == 3
    if settings.get("per_channel"):  # one scale per output column instead of one per matrix
        scales = [t for t in out.graph.initializer if t.name.endswith("_scale") and len(t.dims) == 1]
        assert any(t.dims[0] > 1 for t in scales)
    if settings.get("reduce_range"):  # 7-bit weights
        assert all(np.abs(m.astype(np.int16)).max() <= 64 for m in matrices)
    label, _ = run(out, cancer["x_eval"])
    assert np.mean(label == run(base, cancer["x_eval"])[0]) > 0.95
