"""The server on loopback, through the standard clients: tritonclient (HTTP + gRPC), httpx, TF Serving docs."""

from __future__ import annotations

import base64
import json

import httpx
import numpy as np
import pytest

pytestmark = pytest.mark.server


def test_v2_http_client(server, breast_cancer_X):
    import tritonclient.http as th

    client = th.InferenceServerClient(server.http)
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready("quickstart")
    meta = client.get_model_metadata("quickstart")
    assert meta["inputs"][0]["shape"] == [-1, 30] and meta["outputs"][1]["name"] == "probabilities"
    x = breast_cancer_X[:5]
    for binary in (True, False):
        inp = th.InferInput("X", list(x.shape), "FP32")
        inp.set_data_from_numpy(x, binary_data=binary)
        outs = [th.InferRequestedOutput("label", binary_data=binary),
                th.InferRequestedOutput("probabilities", binary_data=binary)]
        result = client.infer("quickstart", [inp], outputs=outs, model_version="1")
        assert result.as_numpy("label").shape == (5,)
        probs = result.as_numpy("probabilities")
        assert probs.shape == (5, 2) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    only = client.infer("quickstart", [inp], outputs=[th.InferRequestedOutput("label")])
    assert only.as_numpy("probabilities") is None


def test_v2_grpc_client(server, breast_cancer_X):
    import tritonclient.grpc as tg
    from tritonclient.utils import InferenceServerException

    client = tg.InferenceServerClient(server.grpc)
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready("quickstart")
    assert client.get_server_metadata().name == "mlready"
    meta = client.get_model_metadata("quickstart")
    assert list(meta.inputs[0].shape) == [-1, 30]
    x = breast_cancer_X[:4]
    inp = tg.InferInput("X", list(x.shape), "FP32")
    inp.set_data_from_numpy(x)
    result = client.infer("quickstart", [inp])
    assert result.as_numpy("probabilities").shape == (4, 2)
    # strings and int64 through raw contents
    tag = tg.InferInput("tag", [2], "BYTES")
    tag.set_data_from_numpy(np.array([b"foo", b"bar"], dtype=object))
    sig = tg.InferInput("signal", [2, 5], "INT64")
    sig.set_data_from_numpy(np.arange(10, dtype=np.int64).reshape(2, 5))
    sen = tg.InferInput("sensor", [2, 2, 2], "INT64")
    sen.set_data_from_numpy(np.arange(8, dtype=np.int64).reshape(2, 2, 2))
    r = client.infer("multi", [tag, sig, sen])
    assert r.as_numpy("tag_out").tolist() == [b"foo", b"bar"]
    assert r.as_numpy("signal_sum").tolist() == [10, 35]
    with pytest.raises(InferenceServerException, match="not found"):
        client.infer("nope", [inp])
    bad = tg.InferInput("X", [1, 29], "FP32")
    bad.set_data_from_numpy(np.zeros((1, 29), np.float32))
    with pytest.raises(InferenceServerException, match=r"input 'X': expected shape \[-1, 30\]"):
        client.infer("quickstart", [bad])


def test_tfserving_documentation_examples(server):
    """The examples of https://www.tensorflow.org/tfx/serving/api_rest, against equivalent ONNX models."""
    url = server.url
    # curl -d '{"instances": [1.0, 2.0, 5.0]}' -X POST http://localhost:8501/v1/models/half_plus_two:predict
    r = httpx.post(f"{url}/v1/models/half_plus_two:predict", content='{"instances": [1.0, 2.0, 5.0]}',
                   headers={"content-type": "application/x-www-form-urlencoded"})  # what `curl -d` sends
    assert r.status_code == 200 and r.json() == {"predictions": [2.5, 3.0, 4.5]}
    r = httpx.post(f"{url}/v1/models/half_plus_two/versions/1:predict", json={"inputs": [1.0, 2.0, 5.0]})
    assert r.json() == {"outputs": [2.5, 3.0, 4.5]}
    row = {"instances": [
        {"tag": "foo", "signal": [1, 2, 3, 4, 5], "sensor": [[1, 2], [3, 4]]},
        {"tag": "bar", "signal": [3, 4, 1, 2, 5], "sensor": [[4, 5], [6, 8]]},
    ]}
    r = httpx.post(f"{url}/v1/models/multi:predict", json=row)
    assert r.json() == {"predictions": [{"tag_out": "foo", "signal_sum": 15, "sensor_sum": 10},
                                        {"tag_out": "bar", "signal_sum": 15, "sensor_sum": 23}]}
    columnar = {"inputs": {"tag": ["foo", "bar"], "signal": [[1, 2, 3, 4, 5], [3, 4, 1, 2, 5]],
                           "sensor": [[[1, 2], [3, 4]], [[4, 5], [6, 8]]]}}
    r = httpx.post(f"{url}/v1/models/multi:predict", json=columnar)
    assert r.json() == {"outputs": {"tag_out": ["foo", "bar"], "signal_sum": [15, 15], "sensor_sum": [10, 23]}}
    b64 = {"instances": [{"tag": {"b64": base64.b64encode(b"foo").decode()}, "signal": [1, 1, 1, 1, 1],
                          "sensor": [[0, 0], [0, 1]]}]}
    assert httpx.post(f"{url}/v1/models/multi:predict", json=b64).json()["predictions"][0]["tag_out"] == "foo"
    # status and metadata
    status = httpx.get(f"{url}/v1/models/half_plus_two").json()
    assert status == {"model_version_status": [
        {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}
    assert httpx.get(f"{url}/v1/models/quickstart/labels/stable").json()["model_version_status"][0]["version"] == "1"
    meta = httpx.get(f"{url}/v1/models/half_plus_two/metadata").json()
    sig = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert meta["model_spec"]["version"] == "1" and sig["inputs"]["x"]["dtype"] == "DT_FLOAT"
    assert httpx.post(f"{url}/v1/models/quickstart/labels/stable:predict",
                      json={"instances": [[0.0] * 30]}).status_code == 200


@pytest.mark.parametrize(("path", "body", "status", "message"), [
    ("/v1/models/quickstart:predict", b"{not json", 400, "malformed JSON"),
    ("/v1/models/quickstart:predict", b"", 400, "empty"),
    ("/v1/models/quickstart:predict", json.dumps({"instances": [[1.0] * 29]}).encode(), 400,
     "input 'X': expected shape [-1, 30], got [1, 29]"),
    ("/v1/models/quickstart:predict", json.dumps({"instances": [["a"] * 30]}).encode(), 400,
     "input 'X': data is not a valid FP32 tensor"),
    ("/v1/models/quickstart:predict", json.dumps({"instances": [[1.0] * 30], "inputs": {}}).encode(), 400,
     "exactly one of"),
    ("/v1/models/multi:predict", json.dumps({"inputs": {"tag": ["a"], "signal": [[1, 2, 3, 4, 5]]}}).encode(), 400,
     "missing input 'sensor'"),
    ("/v1/models/multi:predict", json.dumps({"inputs": {"tag": ["a"], "signal": [[1.5, 2, 3, 4, 5]],
                                                        "sensor": [[[1, 2], [3, 4]]]}}).encode(), 400,
     "input 'signal': data is not a valid INT64 tensor"),
    ("/v2/models/quickstart/infer", json.dumps({"inputs": [{"name": "X", "datatype": "FP64", "shape": [1, 30],
                                                             "data": [0.0] * 30}]}).encode(), 400,
     "input 'X': expected datatype FP32, got FP64"),
    ("/v2/models/quickstart/infer", json.dumps({"inputs": [{"name": "Y", "datatype": "FP32", "shape": [1, 30],
                                                             "data": [0.0] * 30}]}).encode(), 400, "unknown input 'Y'"),
    ("/v2/models/quickstart/infer", json.dumps({"inputs": [{"name": "X", "datatype": "FP32", "shape": [1, 30],
                                                             "data": [0.0] * 3}]}).encode(), 400,
     "input 'X': 3 values do not fill shape [1, 30]"),
    ("/v2/models/quickstart/infer", json.dumps({"inputs": [{"name": "X", "datatype": "FP32", "shape": [1, 30],
                                                             "data": [0.0] * 30}],
                                                 "outputs": [{"name": "nope"}]}).encode(), 400, "unknown output 'nope'"),
    ("/v2/models/dyn/infer", json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 3],
                                                      "data": [1, 2, 3]}]}).encode(), 400,
     "model 'dyn' cannot run on this input"),
    ("/v2/models/quickstart/infer", json.dumps({"inputs": [{"name": "X", "datatype": "FP32",
                                                             "shape": [2**40, 2**40, 2**40, 16],
                                                             "data": [0.0]}]}).encode(), 400, "do not fill shape"),
    ("/v2/models/nope/infer", b"{}", 404, "model 'nope' not found (this server has: dyn, half_plus_two, mlp, multi, "
                                          "quickstart)"),
    ("/v2/models/quickstart/versions/7/infer", b"{}", 404, "has no version 7"),
    ("/v1/models/quickstart/labels/canary:predict", b"{}", 404, "no label 'canary'"),
    ("/v1/models/quickstart:classify", b"{}", 400, ":classify"),
    ("/nowhere", b"", 404, "no route"),
])
def test_client_mistakes_are_4xx_naming_the_problem(server, path, body, status, message):
    r = httpx.post(server.url + path, content=body)
    assert r.status_code == status, r.text
    assert message in r.json()["error"]


def test_body_size_limit_and_methods(server):
    big = b"[" + b"1.0," * (5 * 1024 * 1024) + b"1.0]"
    r = httpx.post(server.url + "/v1/models/quickstart:predict", content=big, timeout=30)
    assert r.status_code == 413 and "limit" in r.json()["error"]
    assert httpx.get(server.url + "/v2/models/quickstart/infer").status_code == 405
    assert httpx.delete(server.url + "/v2/health/live").status_code == 405


def test_cloud_routes(server):
    url = server.url
    # SageMaker: /ping and /invocations (only one model is not the case here -> 404 naming the fix)
    assert httpx.get(f"{url}/ping").status_code == 200
    r = httpx.post(f"{url}/invocations", json={"instances": [[0.0] * 30]})
    assert r.status_code == 404 and "cloud.default_model" in r.json()["error"]


def test_metrics_and_openapi(server):
    httpx.post(server.url + "/v1/models/half_plus_two:predict", json={"instances": [1.0]})
    text = httpx.get(server.url + "/metrics").text
    from mlready.runtime import metrics as names

    for name in (names.REQUESTS_TOTAL, names.QUEUE_DURATION, names.DECODE_DURATION, names.INFERENCE_DURATION,
                 names.ENCODE_DURATION, names.BATCH_SIZE, names.INFLIGHT_REQUESTS, names.MODEL_VERSION_STATE,
                 names.MODEL_LOAD_DURATION):
        assert name in text, name
    assert 'mlready_requests_total{model="half_plus_two",protocol="tfserving",status="200",version="1"}' in text
    assert 'mlready_model_version_state{model="quickstart",state="AVAILABLE",version="1"} 1.0' in text
    assert "process_cpu_seconds_total" in text and "process_resident_memory_bytes" in text
    doc = httpx.get(server.url + "/openapi.json").json()
    assert doc["openapi"].startswith("3.") and "/v2/models/{model}/infer" in doc["paths"]


def test_request_id_is_echoed(server):
    r = httpx.get(server.url + "/v2/health/live", headers={"x-request-id": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"


@pytest.mark.parametrize("value", [b"\xb2", b"\xb9\xb2", b"1\xb2", b"-5", b"abc", b"99999999999999999999999"])
def test_a_binary_header_length_that_is_not_ascii_digits_is_never_a_500(server, value):
    """``²`` is a digit to ``str.isdigit`` but not to ``int()``. hyper does not hand over a header value with
    bytes outside ASCII (the request is answered as if it had none); ASCII non-numbers are 400 naming the header."""
    body = json.dumps({"inputs": [{"name": "X", "datatype": "FP32", "shape": [1, 30], "data": [0.0] * 30}]})
    r = httpx.post(server.url + "/v2/models/quickstart/infer", content=body.encode(),
                   headers={"inference-header-content-length": value})
    if value.isascii():
        assert r.status_code == 400 and "Inference-Header-Content-Length" in r.json()["error"], r.text
    else:
        assert r.status_code in (200, 400), r.text


def test_request_counters_and_the_inflight_gauge_count_exactly(server):
    """The requests counter and in-flight gauge are plain values on the event loop's thread (no lock): each
    answered request counts once, and nothing stays in flight."""
    def scrape() -> dict[str, float]:
        out = {}
        for line in httpx.get(server.url + "/metrics").text.splitlines():
            if line.startswith(('mlready_requests_total{model="half_plus_two",protocol="tfserving",status="200"',
                                'mlready_requests_total{model="half_plus_two",protocol="tfserving",status="400"',
                                'mlready_inflight_requests{protocol="tfserving"}')):
                key, value = line.rsplit(" ", 1)
                out[key] = float(value)
        return out

    before = scrape()
    for _ in range(7):
        assert httpx.post(server.url + "/v1/models/half_plus_two:predict", json={"instances": [1.0]}).status_code == 200
    assert httpx.post(server.url + "/v1/models/half_plus_two:predict", json={"instances": ["x"]}).status_code == 400
    after = scrape()
    ok = 'mlready_requests_total{model="half_plus_two",protocol="tfserving",status="200",version="1"}'
    bad = 'mlready_requests_total{model="half_plus_two",protocol="tfserving",status="400",version="1"}'
    assert after[ok] - before.get(ok, 0.0) == 7 and after[bad] - before.get(bad, 0.0) == 1
    assert after['mlready_inflight_requests{protocol="tfserving"}'] == 0


@pytest.mark.parametrize("value", ["²", "١٢", "\u00b9"])
def test_the_v2_decode_refuses_header_lengths_of_non_ascii_digits(value):
    """``int()`` reads Arabic-Indic digits and refuses superscripts; both are 400 before any ``int()``."""
    from mlready.runtime.errors import BadRequest
    from mlready.runtime.request_decode import v2
    from mlready.runtime.signature import Signature, TensorSpec

    sig = Signature("m", (TensorSpec("X", "FP32", (-1, 2)),), (TensorSpec("y", "FP32", (-1, 1)),))
    with pytest.raises(BadRequest, match="Inference-Header-Content-Length"):
        v2(sig, b'{"inputs": []}', value)


def test_made_up_model_names_share_one_metrics_label(server):
    """A client's made-up model names are counted under ``model="_unknown"``: label values stay bounded."""
    for i in range(3):
        assert httpx.post(f"{server.url}/v1/models/nope{i}:predict", json={"instances": [1.0]}).status_code == 404
    text = httpx.get(server.url + "/metrics").text
    assert 'mlready_requests_total{model="_unknown",protocol="tfserving",status="404",version=""}' in text
    assert "nope1" not in text
