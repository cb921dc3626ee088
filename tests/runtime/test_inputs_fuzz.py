"""Fuzz every request field that reaches decoding code, over real REST and gRPC clients (issue 20 item 7): any
JSON value in any field of a TF Serving, v2 or cloud body, and any ModelInferRequest, answers 4xx /
INVALID_ARGUMENT-like statuses, never 500 / INTERNAL / UNKNOWN, never a hang. The schemathesis run in
test_fuzz.py covers the routes from the OpenAPI document; this one goes deep into the tensors."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.server

DATATYPES = ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32",
             "FP64", "BYTES"]
#: model -> (input names, datatype of each)
MODELS = {"quickstart": {"X": "FP32"}, "multi": {"tag": "BYTES", "signal": "INT64", "sensor": "INT64"},
          "id_int8": {"x": "INT8"}, "id_uint16": {"x": "UINT16"}, "id_fp16": {"x": "FP16"}, "id_bool": {"x": "BOOL"}}
SETTINGS = settings(max_examples=600, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def srv(tmp_path_factory, mk):
    from tests.runtime.test_inputs import inputs_server

    server = inputs_server(tmp_path_factory, mk, {"id_int8": "INT8", "id_uint16": "UINT16", "id_fp16": "FP16",
                                                  "id_bool": "BOOL"})
    yield server
    server.stop()


scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=8) | st.sampled_from(["1.5", "nan", "", "²", "b64"]))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.sampled_from(["b64", "data", "name", "x", "X"]), inner, max_size=3),
                           max_leaves=12)


def mostly(valid: Any, hostile: Any = json_values) -> Any:
    """``valid`` seven times in ten, else ``hostile``: most requests get past the outer checks, so the fuzz
    reaches the fields deep inside."""
    return st.integers(0, 9).flatmap(lambda i: valid if i < 7 else hostile)


def deep(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = [value]
    return value


@st.composite
def tensor(draw: Any, name: str, datatype: str, hostile: bool) -> dict:
    """Input ``name``: valid, or (``hostile``) valid but for one field, so every check, however deep, is
    reached."""
    hostile = draw(st.sampled_from(["datatype", "shape", "data", "parameters", "name"])) if hostile else None
    shape = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    values = {"BYTES": st.text(max_size=2), "BOOL": st.booleans()}.get(datatype, st.integers(-3, 3)
                                                                        | st.floats(-1, 1, width=16))
    data: Any = draw(st.lists(values, min_size=math.prod(shape), max_size=math.prod(shape)))
    tensor = {"name": name, "datatype": datatype, "shape": shape, "data": data}
    if hostile == "name":
        tensor["name"] = draw(st.just("nope") | json_values)
    elif hostile == "datatype":
        tensor["datatype"] = draw(st.sampled_from(DATATYPES) | json_values)
    elif hostile == "shape":
        tensor["shape"] = shape = draw(st.lists(st.integers(-2, 2**62), max_size=4) | json_values
                                       | st.integers(60, 100).map(lambda n: [1] * n))
        if draw(st.booleans()):  # data that fills it
            one = {"BYTES": "a", "BOOL": True}.get(datatype, 1)
            tensor["data"] = [one] * (len(data) if not isinstance(shape, list) or len(shape) < 60 else 1)
    elif hostile == "data":
        tensor["data"] = draw(json_values | st.builds(deep, json_values, st.integers(0, 40))
                              | st.lists(scalars, min_size=1, max_size=60)
                              | st.lists(scalars, min_size=len(data), max_size=len(data)))
    elif hostile == "parameters":
        tensor["parameters"] = draw(json_values)
    return tensor


@st.composite
def requests(draw: Any) -> tuple[str, bytes]:
    model = draw(st.sampled_from(sorted(MODELS)))
    version = draw(mostly(st.just(""), st.sampled_from(["/versions/1", "/versions/²", "/versions/0",
                                                         "/versions/" + "9" * 30])))
    kind = draw(st.sampled_from(["v2", "v2", "v2", "tf-row", "tf-col", "invocations", "score", "raw"]))
    if kind == "v2":
        bad = draw(st.sampled_from([*MODELS[model], None]))
        body: Any = {"inputs": draw(mostly(st.tuples(*(tensor(n, d, n == bad) for n, d in MODELS[model].items()))
                                           .map(list)))}
        extra = draw(st.sampled_from([None, None, None, "outputs", "id", "parameters"]))
        if extra is not None:
            body[extra] = draw(json_values)
        return f"/v2/models/{model}{version}/infer", json.dumps(body).encode()
    data = draw(json_values | st.builds(deep, json_values, st.integers(0, 40)))
    if kind == "raw":
        return f"/v1/models/{model}{version}:predict", json.dumps(data).encode()
    if kind in ("tf-row", "tf-col"):
        key = "instances" if kind == "tf-row" else "inputs"
        if draw(st.booleans()):
            data = {n: draw(json_values) for n in MODELS[model]}
        return f"/v1/models/{model}{version}:predict", json.dumps({key: data}).encode()
    wrapper = draw(st.sampled_from(["data", "input_data", "instances", None]))
    body = data if wrapper is None else {wrapper: data}
    return ("/invocations" if kind == "invocations" else "/score"), json.dumps(body).encode()


def test_rest_fields_never_answer_500(srv):
    with httpx.Client(base_url=srv.url, timeout=10) as client:

        @SETTINGS
        @given(requests())
        def check(request: tuple[str, bytes]) -> None:
            path, body = request
            r = client.post(path, content=body, headers={"content-type": "application/json"})
            assert r.status_code < 500 or r.status_code == 503, (path, body[:500], r.text)
            if r.status_code >= 400:
                assert r.json()["error"]

        check()
    assert "unhandled error" not in srv.logs()


# -- gRPC ------------------------------------------------------------------------------------------------------

CONTENTS = ["bool_contents", "int_contents", "int64_contents", "uint_contents", "uint64_contents",
            "fp32_contents", "fp64_contents", "bytes_contents"]
LIMITS = {"bool_contents": st.booleans(), "int_contents": st.integers(-2**31, 2**31 - 1),
          "int64_contents": st.integers(-2**63, 2**63 - 1), "uint_contents": st.integers(0, 2**32 - 1),
          "uint64_contents": st.integers(0, 2**64 - 1), "fp32_contents": st.floats(width=32),
          "fp64_contents": st.floats(), "bytes_contents": st.binary(max_size=8)}


@st.composite
def grpc_requests(draw: Any) -> bytes:
    from tritonclient.grpc import service_pb2

    model = draw(st.sampled_from([*sorted(MODELS), "nope"]))
    req = service_pb2.ModelInferRequest(model_name=model, id=draw(st.text(max_size=4)),
                                        model_version=draw(st.sampled_from(["", "1", "²", "0", "-1", "9" * 40])
                                                           | st.text(max_size=3)))
    inputs = MODELS.get(model, {"x": "FP32"})
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from([*inputs, "nope"]))
        datatype = draw(st.sampled_from([inputs.get(name, "FP32"), *DATATYPES]) | st.text(max_size=3))
        shape = draw(st.lists(st.integers(-2**63, 2**63 - 1) | st.integers(-1, 3), max_size=4)
                     | st.integers(60, 100).map(lambda n: [1] * n))
        t = req.inputs.add(name=name, datatype=datatype, shape=shape)
        field = draw(st.sampled_from(CONTENTS))
        getattr(t.contents, field).extend(draw(st.lists(LIMITS[field], max_size=draw(st.sampled_from([1, 40])))))
    if draw(st.booleans()):
        req.raw_input_contents.extend(draw(st.lists(st.binary(max_size=64) | st.sampled_from(
            [np.zeros(30, np.float32).tobytes(), b"\xff\xff\xff\x7f", b"\x01\x00\x00\x00\xff"]), max_size=3)))
    for name in draw(st.lists(st.sampled_from(["label", "probabilities", "y", "nope"]), max_size=2)):
        req.outputs.add(name=name)
    return req.SerializeToString()


def test_grpc_requests_never_answer_internal(srv):
    import grpc

    with grpc.insecure_channel(srv.grpc) as channel:
        infer = channel.unary_unary("/inference.GRPCInferenceService/ModelInfer",
                                    request_serializer=lambda b: b, response_deserializer=lambda b: b)

        @SETTINGS
        @given(grpc_requests() | st.binary(max_size=64))
        def check(message: bytes) -> None:
            try:
                infer(message, timeout=10)
            except grpc.RpcError as exc:
                assert exc.code() not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN,
                                          grpc.StatusCode.DEADLINE_EXCEEDED), (exc.code(), exc.details())

        check()
    assert "unhandled error" not in srv.logs()
