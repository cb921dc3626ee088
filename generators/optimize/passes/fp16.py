"""fp16 conversion with onnxconverter-common, keeping float32 inputs and outputs (the served contract)."""

from __future__ import annotations

import warnings

import onnx
from mlready.generators._shared.onnx_model import annotate_types, require_dense
from mlready.generators.optimize.passes.base import PassContext
from onnxconverter_common import float16


def drop_noop_casts(model: onnx.ModelProto) -> onnx.ModelProto:
    """Remove ``Cast`` nodes whose input already has the target type (skl2onnx emits float→float casts).

    The fp16 converter retypes a Cast's output but not its ``to`` attribute, so such a cast would break.
    """
    types = {v.name: v.type.tensor_type.elem_type for v in (*model.graph.value_info, *model.graph.input)}
    outputs = {o.name for o in model.graph.output}
    rename: dict[str, str] = {}
    keep = []
    for node in model.graph.node:
        node.input[:] = [rename.get(i, i) for i in node.input]
        to = next((a.i for a in node.attribute if a.name == "to"), None)
        if node.op_type == "Cast" and types.get(node.input[0]) == to and node.output[0] not in outputs:
            rename[node.output[0]] = node.input[0]
            continue
        keep.append(node)
    del model.graph.node[:]
    model.graph.node.extend(keep)
    return model


def apply(model: onnx.ModelProto, ctx: PassContext) -> onnx.ModelProto:
    require_dense(model, "fp16 conversion")
    typed = drop_noop_casts(annotate_types(model, ctx.calib[:1]))
    with warnings.catch_warnings():  # tiny weights are clipped to fp16's range; the accuracy check judges that
        warnings.filterwarnings("ignore", message="the float32 number .* will be truncated", category=UserWarning)
        return float16.convert_float_to_float16(typed, keep_io_types=True)
