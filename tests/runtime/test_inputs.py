"""Hostile or careless request fields (issue 20 items 7 and 8): every protocol answers 4xx / INVALID_ARGUMENT
naming the input, never 500, never a hang, never a silently changed value. Real server, real clients."""

from __future__ import annotations

import json
from typing import Any

import httpx
import numpy as np
import pytest

pytestmark = pytest.mark.server

#: identity models, one per datatype whose range or parsing can go wrong
IDENTITY = {"id_int8": "INT8", "id_uint8": "UINT8", "id_int16": "INT16", "id_uint16": "UINT16",
            "id_fp16": "FP16", "id_bool": "BOOL", "id_fp64": "FP64", "id_int32": "INT32"}


def identity_model(models: Any, datatype: str):
    from onnx import TensorProto, helper

    elem = {"INT8": TensorProto.INT8, "UINT8": TensorProto.UINT8, "INT16": TensorProto.INT16,
            "UINT16": TensorProto.UINT16, "FP16": TensorProto.FLOAT16, "BOOL": TensorProto.BOOL,
            "FP64": TensorProto.DOUBLE, "INT32": TensorProto.INT32}[datatype]
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity",
                              [helper.make_tensor_value_info("x", elem, ["batch", 2])],
                              [helper.make_tensor_value_info("y", elem, ["batch", 2])])
    return models._model(graph)


def inputs_server(tmp_path_factory: Any, models: Any, identity: dict[str, str]) -> Any:
    """A server on the quickstart, multi and ``identity`` (model name -> datatype) models; cloud routes serve
    the quickstart."""
    from tests.runtime.conftest import start_server

    repo = tmp_path_factory.mktemp("inputs-repo")
    onx, signature, _ = models.breast_cancer_logreg()
    models.write_version(repo, "quickstart", 1, onx, signature)
    models.write_version(repo, "multi", 1, models.multi_input_model())
    for name, datatype in identity.items():
        models.write_version(repo, name, 1, identity_model(models, datatype))
    return start_server(tmp_path_factory.mktemp("inputs-srv"), repo, cloud={"default_model": "quickstart"})


@pytest.fixture(scope="module")
def srv(tmp_path_factory, mk):
    server = inputs_server(tmp_path_factory, mk, IDENTITY)
    yield server
    server.stop()


def v2(name: str, datatype: Any, shape: Any, data: Any) -> dict:
    return {"inputs": [{"name": name, "datatype": datatype, "shape": shape, "data": data}]}


ROW = [0.5] * 30


# -- item 7: client mistakes that answered 500 or hung ---------------------------------------------------------


@pytest.mark.parametrize(("path", "body", "message"), [
    ("/v2/models/quickstart/infer", v2("X", ["FP32"], [1, 30], ROW), "datatype"),
    ("/v2/models/quickstart/infer", v2("X", {"a": 1}, [1, 30], ROW), "datatype"),
    ("/v2/models/quickstart/infer", v2("X", "FP32", [1] * 65 + [30], ROW), "shape"),
    ("/v2/models/quickstart/infer", v2("X", "FP32", [1] * 40 + [30], ROW), "input 'X'"),
    ("/v2/models/multi/infer", {"inputs": [{"name": "tag", "datatype": "BYTES", "shape": [2],
                                            "data": [["a"], "b"]}]}, "input 'tag'"),
    ("/v1/models/multi:predict", {"inputs": {"tag": [[[["a"]]]] , "signal": [[1, 2, 3, 4, 5]],
                                             "sensor": [[[1, 2], [3, 4]]]}}, "input 'tag'"),
    ("/v2/models/quickstart/versions/²/infer", v2("X", "FP32", [1, 30], ROW), "version"),
    ("/v2/models/quickstart/versions/" + "9" * 5000 + "/infer", v2("X", "FP32", [1, 30], ROW), "version"),
    ("/v1/models/quickstart/versions/²:predict", {"instances": [ROW]}, "version"),
])
def test_wrong_types_and_shapes_are_4xx(srv, path, body, message):
    r = httpx.post(srv.url + path, json=body, timeout=10)
    assert 400 <= r.status_code < 500, r.text
    assert message in r.json()["error"]


def test_deeply_nested_strings_are_400(srv):
    deep = "[" * 1000 + '"a"' + "]" * 1000  # orjson's depth limit is 1024
    body = '{"inputs": {"tag": ' + deep + ', "signal": [[1, 2, 3, 4, 5]], "sensor": [[[1, 2], [3, 4]]]}}'
    r = httpx.post(srv.url + "/v1/models/multi:predict", content=body, timeout=10)
    assert r.status_code == 400 and "input 'tag'" in r.json()["error"], r.text
    body = json.dumps(v2("tag", "BYTES", [1], None)).replace("null", deep)
    r = httpx.post(srv.url + "/v2/models/multi/infer", content=body, timeout=10)
    assert r.status_code == 400 and "input 'tag'" in r.json()["error"], r.text


def test_version_status_with_unicode_digits_is_404(srv):
    for path in ("/v1/models/quickstart/versions/²", "/v1/models/quickstart/versions/" + "1" * 5000,
                 "/v2/models/quickstart/versions/²", "/v2/models/quickstart/versions/²/ready"):
        r = httpx.get(srv.url + path, timeout=10)
        assert r.status_code == 404, (path, r.text)


@pytest.mark.parametrize("route", ["/score", "/invocations"])
@pytest.mark.parametrize("body", [b"null", b"3", b'"x"', b"true", b"[]", b'{"data": null}', b'{"input_data": 1}'])
def test_cloud_routes_answer_any_json_at_once(srv, route, body):
    r = httpx.post(srv.url + route, content=body, headers={"content-type": "application/json"}, timeout=5)
    assert r.status_code == 400, r.text


def test_grpc_decode_mistakes_are_invalid_argument(srv):
    import grpc
    import tritonclient.grpc as tg
    from tritonclient.grpc import service_pb2
    from tritonclient.utils import InferenceServerException

    client = tg.InferenceServerClient(srv.grpc)
    for version in ("²", "9" * 5000):
        with pytest.raises(InferenceServerException) as err:
            client.is_model_ready("quickstart", version)
        assert err.value.status() == "StatusCode.NOT_FOUND", err.value
    req = service_pb2.ModelInferRequest(model_name="quickstart")
    t = req.inputs.add(name="X", datatype="FP32", shape=[1] * 65 + [30])
    t.contents.fp32_contents.extend(ROW)
    with pytest.raises(grpc.RpcError) as err:
        client._client_stub.ModelInfer(req)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "input 'X'" in err.value.details()


# -- a model-repository folder named like a digit must not stop the server -------------------------------------


def test_unicode_digit_version_folder_does_not_stop_loading(tmp_path, mk, launch):
    import time

    repo = tmp_path / "repo"
    (repo / "quickstart" / "²").mkdir(parents=True)
    onx, signature, _ = mk.breast_cancer_logreg()
    (repo / "quickstart" / "²" / "model.onnx").write_bytes(onx.SerializeToString())
    mk.write_version(repo, "quickstart", 1, onx, signature)
    server = launch(repo, ready=False)
    deadline = time.monotonic() + 30
    while httpx.get(server.url + "/v2/health/ready").status_code != 200:
        assert time.monotonic() < deadline, server.logs()
        time.sleep(0.1)
    mk.write_version(repo, "quickstart", 2, onx, signature)  # hot reload keeps working
    while httpx.get(server.url + "/v2/models/quickstart/versions/2/ready").status_code != 200:
        assert time.monotonic() < deadline, server.logs()
        time.sleep(0.1)
    assert "repository poll failed" not in server.logs()


# -- item 8: values that do not fit the datatype are refused in every protocol ---------------------------------

BAD_FP32 = [(None, "null"), (True, "boolean"), ("1.5", "string"), (1e39, "range")]


@pytest.mark.parametrize(("value", "why"), BAD_FP32)
def test_fp32_non_numbers_and_overflow_refused_on_every_rest_route(srv, value, why):
    row = [*ROW[:29], value]
    bodies = {
        "/v1/models/quickstart:predict": {"instances": [row]},
        "/v1/models/quickstart:predict#columnar": {"inputs": [row]},
        "/v2/models/quickstart/infer": v2("X", "FP32", [1, 30], row),
        "/invocations": {"instances": [row]},
        "/score": {"data": [row]},
    }
    for path, body in bodies.items():
        r = httpx.post(srv.url + path.split("#")[0], json=body, timeout=10)
        assert r.status_code == 400, (path, r.text)
        assert "input 'X'" in r.json()["error"], (path, r.text)
        assert "[0, 29]" in r.json()["error"] or "index 29" in r.json()["error"], (path, r.text)


def test_csv_non_finite_values_refused(srv):
    for text in (b"nan" + b",1" * 29, b"1e999" + b",1" * 29, b"inf" + b",1" * 29):
        r = httpx.post(srv.url + "/invocations", content=text, headers={"content-type": "text/csv"})
        assert r.status_code == 400 and "CSV line 1" in r.json()["error"], r.text


@pytest.mark.parametrize(("model", "bad"), [("id_int8", 300), ("id_int8", -129), ("id_uint8", 256),
                                            ("id_uint8", -1), ("id_int16", 40000), ("id_uint16", 70000),
                                            ("id_int32", 2**31), ("id_int8", True), ("id_int8", 1.5),
                                            ("id_fp16", 70000.0), ("id_bool", 2), ("id_bool", 1.0),
                                            ("id_fp64", None), ("id_bool", None)])
def test_out_of_range_integers_refused_over_rest(srv, model, bad):
    datatype = IDENTITY[model]
    r = httpx.post(f"{srv.url}/v2/models/{model}/infer", json=v2("x", datatype, [1, 2], [0, bad]))
    assert r.status_code == 400 and "input 'x'" in r.json()["error"], r.text
    r = httpx.post(f"{srv.url}/v1/models/{model}:predict", json={"instances": [[0, bad]]})
    assert r.status_code == 400 and "input 'x'" in r.json()["error"], r.text


@pytest.mark.parametrize(("model", "field", "bad"), [
    ("id_int8", "int_contents", 300), ("id_int8", "int_contents", -129), ("id_uint8", "uint_contents", 256),
    ("id_int16", "int_contents", -40000), ("id_uint16", "uint_contents", 70000),
])
def test_out_of_range_grpc_contents_are_invalid_argument(srv, model, field, bad):
    import grpc
    import tritonclient.grpc as tg
    from tritonclient.grpc import service_pb2

    client = tg.InferenceServerClient(srv.grpc)
    req = service_pb2.ModelInferRequest(model_name=model)
    t = req.inputs.add(name="x", datatype=IDENTITY[model], shape=[1, 2])
    getattr(t.contents, field).extend([1, bad])
    with pytest.raises(grpc.RpcError) as err:
        client._client_stub.ModelInfer(req)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value
    assert "input 'x'" in err.value.details() and "index 1" in err.value.details()
    # the same values in range reach the model unchanged
    ok = service_pb2.ModelInferRequest(model_name=model)
    t = ok.inputs.add(name="x", datatype=IDENTITY[model], shape=[1, 2])
    getattr(t.contents, field).extend([1, 100])
    resp = client._client_stub.ModelInfer(ok)
    dtype = {"INT8": "<i1", "UINT8": "<u1", "INT16": "<i2", "UINT16": "<u2"}[IDENTITY[model]]
    assert np.frombuffer(resp.raw_output_contents[0], dtype=dtype).tolist() == [1, 100]


def test_valid_values_still_served_on_every_route(srv):
    for path, body in {"/v1/models/quickstart:predict": {"instances": [ROW]},
                       "/v2/models/quickstart/infer": v2("X", "FP32", [1, 30], ROW),
                       "/invocations": {"instances": [[0, 1, *ROW[2:]]]},  # JSON integers are numbers too
                       "/score": {"data": [ROW]},
                       "/v2/models/id_bool/infer": v2("x", "BOOL", [1, 2], [True, False]),
                       "/v2/models/id_int8/infer": v2("x", "INT8", [1, 2], [-128, 127]),
                       "/v2/models/id_fp16/infer": v2("x", "FP16", [1, 2], [65504.0, -1.5])}.items():
        r = httpx.post(srv.url + path, json=body, timeout=10)
        assert r.status_code == 200, (path, r.text)
    r = httpx.post(srv.url + "/v2/models/id_int8/infer", json=v2("x", "INT8", [1, 2], [-128, 127]))
    assert r.json()["outputs"][0]["data"] == [-128, 127]
