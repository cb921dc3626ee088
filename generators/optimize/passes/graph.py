"""onnxruntime offline graph optimization: constant folding, redundant-node removal, fusions."""

from __future__ import annotations

import onnx
import onnxruntime as ort
from mlready.generators.optimize.passes.base import PassContext, load, save

LEVELS = {
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


def optimize_graph(model: onnx.ModelProto, scratch_in, scratch_out, level: str) -> onnx.ModelProto:
    save(model, scratch_in)
    so = ort.SessionOptions()
    so.graph_optimization_level = LEVELS[level]
    so.optimized_model_filepath = str(scratch_out)
    so.log_severity_level = 3
    ort.InferenceSession(str(scratch_in), so, providers=["CPUExecutionProvider"])
    return load(scratch_out)


def apply(model: onnx.ModelProto, ctx: PassContext) -> onnx.ModelProto:
    level = ctx.cfg.graph.level
    return optimize_graph(model, ctx.path("graph.in.onnx"), ctx.path(f"graph.{level}.onnx"), level)
