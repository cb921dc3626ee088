"""int8 dynamic quantization: weights stored as int8, activations quantized on the fly per batch."""

from __future__ import annotations

import onnx
from mlready.generators.optimize.inspect_model import annotate_types, require_dense
from mlready.generators.optimize.passes.base import PassContext, PassSkipped, load, save
from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.quantization.shape_inference import quant_pre_process

QUANT_TYPES = {"qint8": QuantType.QInt8, "quint8": QuantType.QUInt8}
QUANT_OPS = {"MatMulInteger", "DynamicQuantizeLinear", "QLinearMatMul", "QuantizeLinear", "DequantizeLinear",
             "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "QGemm"}


def preprocess(model: onnx.ModelProto, ctx: PassContext, tag: str) -> str:
    """onnxruntime's quantization pre-processing (symbolic shape inference, optimization, shape inference).

    Symbolic shape inference does not know the ``ai.onnx.ml`` operators skl2onnx emits (Scaler, ...), and when
    it gives up it leaves ``sym_shape_infer_temp.onnx`` and a ``<uuid>.data`` file in the *current directory*
    (the user's project). So it is skipped for such graphs (ONNX shape inference still runs; every tensor is
    annotated with its type and shape beforehand anyway); when it fails on another graph, the pre-processing
    runs again without it.
    """
    src, dst = ctx.path(f"{tag}.in.onnx"), ctx.path(f"{tag}.pre.onnx")
    save(annotate_types(model, ctx.calib[:1]), src)
    has_ml_ops = any(n.domain == "ai.onnx.ml" for n in model.graph.node)
    try:
        quant_pre_process(str(src), str(dst), skip_symbolic_shape=has_ml_ops)
    except Exception:  # onnxruntime raises a bare Exception("Incomplete symbolic shape inference")
        quant_pre_process(str(src), str(dst), skip_symbolic_shape=True)
    save(annotate_types(load(dst), ctx.calib[:1]), dst)
    return str(dst)


def check_quantized(model: onnx.ModelProto, pass_name: str) -> onnx.ModelProto:
    if not QUANT_OPS & {n.op_type for n in model.graph.node}:
        raise PassSkipped(f"{pass_name}: no operator was quantized (no MatMul/Gemm with constant weights)")
    return model


def apply(model: onnx.ModelProto, ctx: PassContext) -> onnx.ModelProto:
    require_dense(model, "int8 quantization")
    cfg = ctx.cfg.int8_dynamic
    out = ctx.path("int8_dynamic.onnx")
    quantize_dynamic(
        preprocess(model, ctx, "int8_dynamic"),
        str(out),
        weight_type=QUANT_TYPES[cfg.weight_type],
        per_channel=cfg.per_channel,
        reduce_range=cfg.reduce_range,
        op_types_to_quantize=["MatMul", "Gemm"],
        # shape inference cannot type tensors behind ai.onnx.ml operators (Scaler): they are float here
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    return check_quantized(load(out), "int8 dynamic quantization")
