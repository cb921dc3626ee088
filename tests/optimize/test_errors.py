"""Failures name what failed: an operator onnxruntime cannot run is named with its node."""

from __future__ import annotations

import onnxruntime as ort
import pytest
from mlready.generators.optimize.step import check_io, explain_error
from onnx import TensorProto, helper


def one_node(op: str, dtype: int):
    node = helper.make_node(op, ["x"], ["y"], name="n1")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", dtype, [2, 2])],
                              [helper.make_tensor_value_info("y", dtype, None)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def session_error(model) -> Exception:
    with pytest.raises(Exception) as info:
        ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return info.value


def test_an_operator_without_a_cpu_kernel_is_named():
    err = session_error(one_node("Erf", TensorProto.DOUBLE))  # Erf has no float64 CPU kernel
    assert explain_error(err) == ("unsupported operator 'Erf' (opset 13, node 'n1'): onnxruntime's CPU provider "
                                  "has no kernel for it")


def test_an_unknown_operator_is_named():
    err = session_error(one_node("Foo", TensorProto.FLOAT))
    assert explain_error(err) == ("unsupported operator 'Foo' (domain ai.onnx, opset 17, node 'n1'): not an "
                                  "operator onnxruntime knows")


def test_other_errors_keep_their_type_and_first_line():
    assert explain_error(ValueError("bad shape\nmore")) == "ValueError: bad shape"


def test_a_pass_that_changes_the_served_signature_is_refused():
    a, b = one_node("Relu", TensorProto.FLOAT), one_node("Relu", TensorProto.FLOAT16)
    check_io(a, a)
    with pytest.raises(RuntimeError, match="inputs/outputs changed"):
        check_io(b, a)
