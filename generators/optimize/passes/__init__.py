"""The optimization passes, one module each. A pass maps an ONNX model to an ONNX model or raises
:class:`PassSkipped` with the reason it does not apply."""

from __future__ import annotations

from collections.abc import Callable

import onnx
from mlready.generators.optimize.passes import (
    distill,
    fp16,
    graph,
    prune,
    quantize_dynamic,
    quantize_static,
    structured,
)
from mlready.generators.optimize.passes.base import PassContext, PassSkipped, UnsupportedOperator

PassFn = Callable[[onnx.ModelProto, PassContext], onnx.ModelProto]

PASSES: dict[str, PassFn] = {
    "graph": graph.apply,
    "int8_dynamic": quantize_dynamic.apply,
    "int8_static": quantize_static.apply,
    "fp16": fp16.apply,
    "prune": prune.apply,
    "structured_prune": structured.apply,
    "distill_mlp": distill.apply_mlp,
    "distill_trees": distill.apply_trees,
}

#: how much a pass changes the model; within the noise margin the lower total wins (the simpler candidate)
COMPLEXITY: dict[str, int] = {
    "graph": 1,
    "fp16": 2,
    "int8_dynamic": 3,
    "prune": 3,
    "int8_static": 4,
    "structured_prune": 5,
    "distill_mlp": 6,
    "distill_trees": 6,
}


def complexity(candidate: str) -> int:
    return 0 if candidate == "baseline" else sum(COMPLEXITY[p] for p in candidate.split("+"))


def run_chain(candidate: str, model: onnx.ModelProto, ctx: PassContext) -> onnx.ModelProto:
    """Apply the passes of ``a+b+c`` in order; the first that declines skips the whole candidate."""
    for name in candidate.split("+"):
        model = PASSES[name](model, ctx)
    return model


__all__ = ["PASSES", "PassContext", "PassSkipped", "UnsupportedOperator", "complexity", "run_chain"]
