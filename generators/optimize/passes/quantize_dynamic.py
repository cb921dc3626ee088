"""int8 dynamic quantization: weights stored as int8, activations quantized on the fly per batch (the core,
shared with the edge bundle's int8 variant, is :func:`mlready.generators._shared.quantize.dynamic_int8`)."""

from __future__ import annotations

import onnx
from mlready.generators._shared.quantize import dynamic_int8
from mlready.generators.optimize.passes.base import PassContext


def apply(model: onnx.ModelProto, ctx: PassContext) -> onnx.ModelProto:
    return dynamic_int8(model, ctx.calib, ctx.scratch, ctx.cfg.int8_dynamic)
