"""int8 static QDQ quantization, calibrated on the spec's data (MinMax, Entropy or Percentile)."""

from __future__ import annotations

import numpy as np
import onnx
from mlready.generators._shared.onnx_model import require_dense
from mlready.generators._shared.quantize import check_quantized, preprocess, quant_type
from mlready.generators.optimize.passes.base import PassContext, load
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, quantize_static

METHODS = {
    "minmax": CalibrationMethod.MinMax,
    "entropy": CalibrationMethod.Entropy,
    "percentile": CalibrationMethod.Percentile,
}


class RowsReader(CalibrationDataReader):
    """Feeds calibration rows to the calibrator in small batches, in a fixed order."""

    def __init__(self, input_name: str, rows: np.ndarray, batch: int = 16):
        self._batches = [rows[i : i + batch] for i in range(0, len(rows), batch)]
        self._input = input_name
        self._i = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._i >= len(self._batches):
            return None
        self._i += 1
        return {self._input: np.ascontiguousarray(self._batches[self._i - 1], dtype=np.float32)}

    def rewind(self) -> None:
        self._i = 0


def apply(model: onnx.ModelProto, ctx: PassContext) -> onnx.ModelProto:
    require_dense(model, "int8 quantization")
    cfg = ctx.cfg.int8_static
    rows = ctx.calib[: cfg.calibration_rows]
    out = ctx.path(f"int8_static.{cfg.method}.onnx")
    quantize_static(
        preprocess(model, ctx.calib[:1], ctx.scratch, "int8_static"),
        str(out),
        RowsReader(model.graph.input[0].name, rows),
        quant_format=QuantFormat.QDQ,
        per_channel=cfg.per_channel,
        reduce_range=cfg.reduce_range,
        activation_type=quant_type(cfg.activation_type),
        weight_type=quant_type(cfg.weight_type),
        calibrate_method=METHODS[cfg.method],
        op_types_to_quantize=["MatMul", "Gemm"],
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    return check_quantized(load(out), "int8 static quantization")
