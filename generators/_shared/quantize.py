"""onnxruntime int8 quantization: the pre-processing, the check that something was quantized, and the dynamic
pass itself, with its settings (:class:`Int8DynamicSpec`, the optimizer's ``optimize.int8_dynamic``).

The optimizer's ``int8_dynamic`` and ``int8_static`` passes and the edge bundle's int8 variant run it, so an
edge int8 model is the optimizer's int8 model (same settings, same pre-processing)::

    dynamic_int8(model, calib_rows, scratch_dir) -> quantized onnx.ModelProto  (or raises PassSkipped)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from mlready.engine.plugin import Section
from pydantic import Field

if TYPE_CHECKING:  # numpy, onnx and onnxruntime are imported when quantizing: the optimize section reads
    import numpy as np  # Int8DynamicSpec at planning time, which must stay cheap
    import onnx
    from onnxruntime.quantization import QuantType

QUANT_OPS = {"MatMulInteger", "DynamicQuantizeLinear", "QLinearMatMul", "QuantizeLinear", "DequantizeLinear",
             "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "QGemm"}


class Int8DynamicSpec(Section):
    weight_type: Literal["qint8", "quint8"] = "qint8"
    per_channel: bool = False
    reduce_range: bool = Field(False, description="7-bit weights, for older CPUs without VNNI")


def quant_type(name: str) -> QuantType:
    from onnxruntime.quantization import QuantType

    return {"qint8": QuantType.QInt8, "quint8": QuantType.QUInt8}[name]


def _path(scratch: Path, name: str) -> Path:
    scratch.mkdir(parents=True, exist_ok=True)
    return scratch / name


def preprocess(model: onnx.ModelProto, row: np.ndarray, scratch: Path, tag: str) -> str:
    """onnxruntime's quantization pre-processing (symbolic shape inference, optimization, shape inference);
    ``row`` is one calibration row, which types the tensors shape inference cannot see.

    Symbolic shape inference does not know the ``ai.onnx.ml`` operators skl2onnx emits (Scaler, ...), and when
    it gives up it leaves ``sym_shape_infer_temp.onnx`` and a ``<uuid>.data`` file in the *current directory*
    (the user's project). So it is skipped for such graphs (ONNX shape inference still runs; every tensor is
    annotated with its type and shape beforehand anyway); when it fails on another graph, the pre-processing
    runs again without it.
    """
    import onnx
    from mlready.generators._shared.onnx_model import annotate_types
    from onnxruntime.quantization.shape_inference import quant_pre_process

    src, dst = _path(scratch, f"{tag}.in.onnx"), _path(scratch, f"{tag}.pre.onnx")
    onnx.save_model(annotate_types(model, row), str(src))
    has_ml_ops = any(n.domain == "ai.onnx.ml" for n in model.graph.node)
    try:
        quant_pre_process(str(src), str(dst), skip_symbolic_shape=has_ml_ops)
    except Exception:  # onnxruntime raises a bare Exception("Incomplete symbolic shape inference")
        quant_pre_process(str(src), str(dst), skip_symbolic_shape=True)
    onnx.save_model(annotate_types(onnx.load_model(str(dst)), row), str(dst))
    return str(dst)


def check_quantized(model: onnx.ModelProto, pass_name: str) -> onnx.ModelProto:
    from mlready.generators._shared.onnx_model import PassSkipped

    if not QUANT_OPS & {n.op_type for n in model.graph.node}:
        raise PassSkipped(f"{pass_name}: no operator was quantized (no MatMul/Gemm with constant weights)")
    return model


def dynamic_int8(model: onnx.ModelProto, calib: np.ndarray, scratch: Path,
                 cfg: Int8DynamicSpec | None = None) -> onnx.ModelProto:
    """int8 dynamic quantization: weights stored as int8, activations quantized on the fly per batch.
    Raises :class:`PassSkipped` for a model without dense layers or when nothing was quantized."""
    import onnx
    from mlready.generators._shared.onnx_model import require_dense
    from onnxruntime.quantization import quantize_dynamic

    cfg = cfg or Int8DynamicSpec()
    require_dense(model, "int8 quantization")
    out = _path(scratch, "int8_dynamic.onnx")
    quantize_dynamic(
        preprocess(model, calib[:1], scratch, "int8_dynamic"),
        str(out),
        weight_type=quant_type(cfg.weight_type),
        per_channel=cfg.per_channel,
        reduce_range=cfg.reduce_range,
        op_types_to_quantize=["MatMul", "Gemm"],
        # shape inference cannot type tensors behind ai.onnx.ml operators (Scaler): they are float here
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    return check_quantized(onnx.load_model(str(out)), "int8 dynamic quantization")
