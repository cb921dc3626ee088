"""Unstructured magnitude pruning: the smallest weights of every dense matrix become zero.

Sparse weights alone do not make onnxruntime faster (its CPU kernels are dense) and the file stays the
same size uncompressed; the candidate is kept honest by measurement, and is the base for compression.
"""

from __future__ import annotations

import numpy as np
import onnx
from mlready.generators._shared.onnx_model import dense_weight, initializers, require_dense
from mlready.generators.optimize.passes.base import PassContext
from onnx import numpy_helper


def magnitude_prune(w: np.ndarray, sparsity: float) -> np.ndarray:
    k = int(round(w.size * sparsity))
    if k == 0:
        return w.copy()
    order = np.argsort(np.abs(w), axis=None, kind="stable")
    out = w.copy().reshape(-1)
    out[order[:k]] = 0
    return out.reshape(w.shape)


def apply(model: onnx.ModelProto, ctx: PassContext) -> onnx.ModelProto:
    require_dense(model, "pruning")
    out = onnx.ModelProto()
    out.CopyFrom(model)
    inits = initializers(out)
    for node in out.graph.node:
        if dense_weight(node, inits) is None:
            continue
        t = inits[node.input[1]]
        pruned = magnitude_prune(numpy_helper.to_array(t), ctx.cfg.prune.sparsity)
        t.CopyFrom(numpy_helper.from_array(pruned, t.name))
    return out
