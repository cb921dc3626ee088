"""Named features and class names on a real server, through real clients: tritonclient HTTP and gRPC with one
input per feature, MLflow's own payload helpers, curl-equivalent JSON and CSV, TF Serving, Vertex and Azure.

Models: the quickstart-like logistic regression (one FP32 matrix, ``feature_names`` only + ``class_names``), a
per-column mixed-type scikit-learn pipeline (INT64, FP32 with missing values, BYTES, BOOL inputs; string
classes) and a regression on a matrix input.
"""

from __future__ import annotations

import concurrent.futures
import json
import re

import httpx
import numpy as np
import pytest

pytestmark = pytest.mark.server

CLASS_NAMES = ["malignant", "benign"]


@pytest.fixture(scope="module")
def built(tmp_path_factory, mk):
    repo = tmp_path_factory.mktemp("named-repo")
    onx, sig, X = mk.breast_cancer_logreg()
    sig = {**sig, "class_names": CLASS_NAMES,
           "example": dict(zip(sig["feature_names"], map(float, X[0]), strict=True))}
    mk.write_version(repo, "quickstart", 1, onx, sig)
    c_onx, c_sig, df, pipe = mk.mixed_pipeline()
    mk.write_version(repo, "churn", 1, c_onx, c_sig)
    r_onx, r_sig, rX = mk.linear_regression()
    mk.write_version(repo, "price", 1, r_onx, r_sig)
    return {"repo": repo, "X": X, "names": sig["feature_names"], "df": df, "pipe": pipe, "rX": rX}


@pytest.fixture(scope="module")
def srv(tmp_path_factory, built):
    from tests.runtime.conftest import start_server

    server = start_server(tmp_path_factory.mktemp("named-srv"), built["repo"],
                          models={"churn": {"batching": {"max_queue_delay_ms": 30, "max_batch_size": 64}}})
    yield server
    server.stop()


def _records(df):
    """DataFrame rows as JSON objects (NaN -> null), what a caller sends."""
    return [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
            for row in json.loads(df.to_json(orient="records"))]


def _expected(built, df):
    return [{"no": "stays", "yes": "churns"}[c] for c in built["pipe"].predict(df)]


def _row(built, i=0):
    return dict(zip(built["names"], map(float, built["X"][i]), strict=True))


def test_tfserving_named_rows_match_positional_and_name_the_class(srv, built):
    X = built["X"][:4]
    named = httpx.post(f"{srv.url}/v1/models/quickstart:predict",
                       json={"instances": [_row(built, i) for i in range(4)]}).json()
    positional = httpx.post(f"{srv.url}/v1/models/quickstart:predict", json={"instances": X.tolist()}).json()
    assert named == positional
    first = named["predictions"][0]
    assert first["label"] in CLASS_NAMES and set(first["probabilities"]) == set(CLASS_NAMES)
    assert first["label"] == max(first["probabilities"], key=first["probabilities"].get)
    columnar = httpx.post(f"{srv.url}/v1/models/quickstart:predict",
                          json={"inputs": {n: X[:, j].tolist() for j, n in enumerate(built["names"])}}).json()
    assert columnar["outputs"]["label"] == [p["label"] for p in named["predictions"]]
    assert columnar["outputs"]["probabilities"]["benign"] == [p["probabilities"]["benign"]
                                                              for p in named["predictions"]]


def test_tfserving_mixed_types_with_missing_values(srv, built):
    df = built["df"].head(20)
    rows = _records(df)
    assert any(r["income"] is None for r in rows)  # a missing value reaches the imputer as NaN
    got = httpx.post(f"{srv.url}/v1/models/churn:predict", json={"instances": rows}).json()["predictions"]
    assert [p["label"] for p in got] == _expected(built, df)
    proba = built["pipe"].predict_proba(df)
    assert np.allclose([[p["probabilities"]["stays"], p["probabilities"]["churns"]] for p in got], proba, atol=1e-5)
    as_lists = [[r["age"], r["income"], r["state"], r["member"]] for r in rows]
    lists = httpx.post(f"{srv.url}/v1/models/churn:predict", json={"instances": as_lists}).json()["predictions"]
    assert lists == got


def test_a_missing_value_the_model_cannot_impute_is_a_400_not_a_made_up_class(srv, built):
    """The logistic regression has no imputer: a null would answer NaN probabilities and an arbitrary label.
    Probed at load, a null for its features is a 400 naming feature and row, in rows, columns and CSV; the
    pipeline with an imputer still takes nulls (test above)."""
    row = _row(built)
    rows = [row, {**row, "mean radius": None}]
    answer = httpx.post(f"{srv.url}/v1/models/quickstart:predict", json={"instances": rows})
    assert answer.status_code == 400, answer.text
    message = answer.json()["error"]
    assert "feature 'mean radius'" in message and "null (a missing value) at row 1" in message, message
    assert "no imputer" in message
    columns = {n: [v] for n, v in row.items()} | {"worst area": [None]}
    answer = httpx.post(f"{srv.url}/v1/models/quickstart:predict", json={"inputs": columns})
    assert answer.status_code == 400 and "feature 'worst area'" in answer.json()["error"], answer.text
    ok = httpx.post(f"{srv.url}/v1/models/quickstart:predict", json={"instances": [row]})
    assert ok.status_code == 200 and ok.json()["predictions"][0]["label"] in CLASS_NAMES


def test_tritonclient_http_one_input_per_feature(srv, built):
    import tritonclient.http as th

    client = th.InferenceServerClient(srv.http)
    df = built["df"].head(6)
    for binary in (True, False):
        inputs = []
        for name, datatype, values in [("age", "INT64", df["age"].to_numpy(np.int64)),
                                       ("income", "FP32", df["income"].to_numpy(np.float32)),
                                       ("state", "BYTES", df["state"].to_numpy(object)),
                                       ("member", "BOOL", df["member"].to_numpy(bool))]:
            inp = th.InferInput(name, [len(df)], datatype)
            inp.set_data_from_numpy(values, binary_data=binary)
            inputs.append(inp)
        outs = [th.InferRequestedOutput("label", binary_data=binary),
                th.InferRequestedOutput("probabilities", binary_data=binary)]
        result = client.infer("churn", inputs, outputs=outs)
        labels = [x.decode() if isinstance(x, bytes) else x for x in result.as_numpy("label")]
        assert labels == _expected(built, df)
        proba = result.get_output("probabilities")
        assert json.loads(proba["parameters"]["class_names"]) == ["stays", "churns"]
    # the quickstart's 30 matrix columns, one named FP32 input each
    X = built["X"][:3]
    inputs = []
    for j, name in enumerate(built["names"]):
        inp = th.InferInput(name, [3, 1], "FP32")
        inp.set_data_from_numpy(X[:, j:j + 1].copy())
        inputs.append(inp)
    named = client.infer("quickstart", inputs).as_numpy("label")
    positional_in = th.InferInput("X", [3, 30], "FP32")
    positional_in.set_data_from_numpy(X)
    positional = client.infer("quickstart", [positional_in]).as_numpy("label")
    assert named.tolist() == positional.tolist() and {x.decode() for x in named} <= set(CLASS_NAMES)


def test_tritonclient_grpc_one_input_per_feature(srv, built):
    import tritonclient.grpc as tg
    from tritonclient.utils import InferenceServerException

    client = tg.InferenceServerClient(srv.grpc)
    df = built["df"].head(5)
    inputs = []
    for name, datatype, values in [("age", "INT64", df["age"].to_numpy(np.int64).reshape(-1, 1)),
                                   ("income", "FP32", df["income"].to_numpy(np.float32).reshape(-1, 1)),
                                   ("state", "BYTES", df["state"].to_numpy(object).reshape(-1, 1)),
                                   ("member", "BOOL", df["member"].to_numpy(bool).reshape(-1, 1))]:
        inp = tg.InferInput(name, list(values.shape), datatype)
        inp.set_data_from_numpy(values)
        inputs.append(inp)
    result = client.infer("churn", inputs)
    assert [x.decode() for x in result.as_numpy("label")] == _expected(built, df)
    out = next(o for o in result.get_response().outputs if o.name == "probabilities")
    assert json.loads(out.parameters["class_names"].string_param) == ["stays", "churns"]
    meta = client.get_model_metadata("churn")
    assert [(o.name, o.datatype) for o in meta.outputs] == [("label", "BYTES"), ("probabilities", "FP32")]
    bad = tg.InferInput("stat", [5, 1], "BYTES")
    bad.set_data_from_numpy(df["state"].to_numpy(object).reshape(-1, 1))
    with pytest.raises(InferenceServerException) as err:
        client.infer("churn", [*inputs[:2], bad, inputs[3]])
    assert "INVALID_ARGUMENT" in str(err.value.status())
    assert "unknown input 'stat' (did you mean 'state'?)" in err.value.message()


@pytest.fixture(scope="module")
def churn_srv(tmp_path_factory, built, mk):
    """A server with the churn model alone (the cloud routes serve one model), Azure's route on."""
    from tests.runtime.conftest import start_server

    repo = tmp_path_factory.mktemp("churn-repo")
    onx, sig, _, _ = mk.mixed_pipeline()
    mk.write_version(repo, "churn", 1, onx, sig)
    server = start_server(tmp_path_factory.mktemp("churn-srv"), repo, cloud={"azure_route": "/score"},
                          env={"AIP_PREDICT_ROUTE": "/predict", "AIP_HEALTH_ROUTE": "/health"})
    yield server
    server.stop()


def test_mlflow_payloads_csv_vertex_azure(churn_srv, built):
    from mlflow.models import convert_input_example_to_serving_input
    from mlflow.utils.proto_json_utils import dump_input_data

    url = churn_srv.url
    df = built["df"].head(8)
    want = _expected(built, df)
    records = _records(df)

    def labels(r: httpx.Response) -> list:
        assert r.status_code == 200, r.text
        return [p["label"] for p in r.json()["predictions"]]

    json_bodies = [dump_input_data(df), convert_input_example_to_serving_input(df),
                   json.dumps({"dataframe_records": records}), json.dumps({"instances": records}),
                   json.dumps({"dataframe_records": records, "params": {}})]
    for body in json_bodies:
        assert labels(httpx.post(f"{url}/invocations", content=body,
                                 headers={"content-type": "application/json"})) == want
    inputs = httpx.post(f"{url}/invocations", json={"inputs": {k: [r[k] for r in records] for k in records[0]}})
    assert inputs.json()["outputs"]["label"] == want
    # CSV as pandas writes it (header line, empty cell for a missing value), and SageMaker-style without one
    csv = df.to_csv(index=False).encode()
    assert labels(httpx.post(f"{url}/invocations", content=csv, headers={"content-type": "text/csv"})) == want
    shuffled = df[["member", "state", "income", "age"]].to_csv(index=False).encode()
    assert labels(httpx.post(f"{url}/invocations", content=shuffled,
                             headers={"content-type": "text/csv; header=present"})) == want
    no_header = df.to_csv(index=False, header=False).encode()
    assert labels(httpx.post(f"{url}/invocations", content=no_header, headers={"content-type": "text/csv"})) == want
    # Vertex AI: instances as objects; Azure ML: rows, and the pandas split form of its MLflow deployments
    assert labels(httpx.post(f"{url}/predict", json={"instances": records, "parameters": {}})) == want
    assert labels(httpx.post(f"{url}/score", json={"data": records})) == want
    split = json.loads(dump_input_data(df))["dataframe_split"]
    assert labels(httpx.post(f"{url}/score", content=json.dumps({"input_data": split}))) == want  # NaN in it


@pytest.mark.parametrize(("path", "body", "ctype", "message"), [
    ("/v1/models/churn:predict", {"instances": [{"age": 1, "income": 2.0, "stat": "NY", "member": True}]}, None,
     "instances[0]: unknown feature 'stat' (did you mean 'state'?); model 'churn' takes the features: age, "
     "income, state, member"),
    ("/v1/models/churn:predict", {"instances": [{"age": 1, "income": 2.0, "state": "NY"}]}, None,
     "instances[0]: missing feature 'member'"),
    ("/v1/models/churn:predict", {"instances": [{"age": 1, "income": 2.0, "state": "NY", "member": "yes"}]}, None,
     "instances, feature 'member': data is not a valid BOOL tensor: value at index 0 is a string, expected boolean"),
    ("/v1/models/churn:predict", {"inputs": {"age": [1, 2], "income": [1.0], "state": ["a", "b"],
                                             "member": [True, False]}}, None,
     "inputs, feature 'income': 1 values, but 'age' has 2"),
    ("/v2/models/churn/infer", {"inputs": [{"name": "age", "datatype": "FP32", "shape": [1], "data": [1.0]}]}, None,
     "input 'age': expected datatype INT64, got FP32"),
    ("/v2/models/churn/infer", {"inputs": [{"name": "age", "datatype": "INT64", "shape": [1], "data": [1]}]}, None,
     "inputs: missing features 'income', 'state', 'member'"),
    ("/v2/models/quickstart/infer", {"inputs": [{"name": "mean radiu", "datatype": "FP32", "shape": [1],
                                                 "data": [1.0]}]}, None,
     "unknown input 'mean radiu' (did you mean 'mean radius'?)"),
    ("/invocations", b"age,income,stat,member\n1,2,NY,true\n", b"text/csv",
     "CSV header line: unknown feature 'stat' (did you mean 'state'?)"),
    ("/invocations", b"age,income,state,member\n1,2,NY,maybe\n", b"text/csv",
     "CSV line 2, column 'member': expected true or false, got 'maybe'"),
    ("/invocations", {"dataframe_split": {"columns": ["age", "income"], "data": [[1, 2, 3]]}}, None,
     "'dataframe_split.data[0]': expected a list of 2 values (one per column)"),
    ("/invocations", {"dataframe_records": [{"age": 1}], "params": {"temperature": 1}}, None,
     "'params': this model takes no inference parameters"),
    # a cloud payload's rows are named as the client sent them (they become TF Serving's instances inside)
    ("/invocations", {"dataframe_records": [{"age": 1, "income": 2.0, "stat": "NY", "member": True}]}, None,
     "dataframe_records[0]: unknown feature 'stat' (did you mean 'state'?)"),
    ("/invocations", {"dataframe_split": {"columns": ["age", "income", "state"], "data": [[1, 2.0, "NY"]]}}, None,
     "dataframe_split.data[0]: missing feature 'member'"),
    ("/score", {"data": [{"age": 1, "income": 2.0, "state": "NY"}]}, None, "data[0]: missing feature 'member'"),
])
def test_bad_named_input_is_a_400_naming_the_field(srv, churn_srv, path, body, ctype, message):
    server = churn_srv if path in ("/invocations", "/score") else srv
    kwargs = {"content": body, "headers": {"content-type": ctype.decode()}} if ctype else {"json": body}
    r = httpx.post(server.url + path, **kwargs)
    assert r.status_code == 400, r.text
    assert message in r.json()["error"]


def test_regression_answers_one_number_per_row_in_every_protocol(srv, built):
    import tritonclient.grpc as tg

    X = built["rX"][:3]
    rows = [{"rooms": float(a), "distance": float(b)} for a, b in X]
    tf = httpx.post(f"{srv.url}/v1/models/price:predict", json={"instances": rows}).json()["predictions"]
    assert len(tf) == 3 and all(isinstance(v, float) for v in tf)
    assert np.allclose(tf, X @ np.array([2.0, -1.0]) + 3.0, atol=1e-4)
    v2 = httpx.post(f"{srv.url}/v2/models/price/infer", json={"inputs": [
        {"name": "rooms", "datatype": "FP32", "shape": [3], "data": X[:, 0].tolist()},
        {"name": "distance", "datatype": "FP32", "shape": [3], "data": X[:, 1].tolist()}]}).json()
    assert v2["outputs"][0]["shape"] == [3] and np.allclose(v2["outputs"][0]["data"], tf)
    client = tg.InferenceServerClient(srv.grpc)
    meta = client.get_model_metadata("price")
    inp = tg.InferInput(meta.inputs[0].name, [3, 2], "FP32")
    inp.set_data_from_numpy(X)
    grpc = client.infer("price", [inp]).as_numpy("variable")
    assert grpc.shape == (3,) and np.allclose(grpc, tf)
    assert [list(o.shape) for o in meta.outputs] == [[-1]]


def test_metadata_says_how_to_call_the_model(srv, built):
    tf = httpx.get(f"{srv.url}/v1/models/churn/metadata").json()["metadata"]
    sig = tf["signature_def"]["signature_def"]["serving_default"]
    assert {k: v["dtype"] for k, v in sig["inputs"].items()} == {
        "age": "DT_INT64", "income": "DT_FLOAT", "state": "DT_STRING", "member": "DT_BOOL"}
    assert sig["outputs"]["label"]["dtype"] == "DT_STRING"
    assert tf["mlready"]["class_names"] == ["stays", "churns"] and tf["mlready"]["task"] == "classification"
    qs = httpx.get(f"{srv.url}/v1/models/quickstart/metadata").json()["metadata"]
    assert list(qs["signature_def"]["signature_def"]["serving_default"]["inputs"]) == built["names"]
    assert qs["mlready"]["inputs"] == [{"name": "X", "datatype": "FP32", "shape": [-1, 30]}]
    v2 = httpx.get(f"{srv.url}/v2/models/quickstart").json()
    assert v2["parameters"]["class_names"] == CLASS_NAMES
    assert [f["name"] for f in v2["parameters"]["features"]] == built["names"]
    assert v2["parameters"]["features"][3] == {"name": "mean area", "datatype": "FP32", "input": "X", "index": 3}
    assert v2["outputs"][0] == {"name": "label", "datatype": "BYTES", "shape": [-1]}


def test_openapi_examples_are_working_requests(srv, built):
    doc = httpx.get(f"{srv.url}/openapi.json").json()
    paths = doc["paths"]
    predict = paths["/v1/models/{model}:predict"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    infer = paths["/v2/models/{model}/infer"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    assert set(predict) == {"quickstart", "churn", "price"}
    assert predict["quickstart"]["value"]["instances"][0] == _row(built)  # the signature's example row
    for model in predict:
        r = httpx.post(f"{srv.url}/v1/models/{model}:predict", json=predict[model]["value"])
        assert r.status_code == 200, (model, r.text)
        r = httpx.post(f"{srv.url}/v2/models/{model}/infer", json=infer[model]["value"])
        assert r.status_code == 200, (model, r.text)
    invocations = paths["/invocations"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    assert invocations["churn"]["value"] == {"dataframe_records": predict["churn"]["value"]["instances"]}


def _batches(url: str, model: str) -> tuple[float, float]:
    text = httpx.get(f"{url}/metrics").text
    count = re.search(rf'mlready_batch_size_count{{model="{model}",version="1"}} (\S+)', text)
    total = re.search(rf'mlready_batch_size_sum{{model="{model}",version="1"}} (\S+)', text)
    return float(count.group(1)) if count else 0.0, float(total.group(1)) if total else 0.0


def test_string_multi_input_requests_are_batched_together(srv, built):
    """Concurrent named requests on the per-column model (INT64, FP32, BYTES, BOOL inputs) merge into one
    onnxruntime call (max_queue_delay_ms 30) and each gets its own rows back."""
    df = built["df"]
    want = _expected(built, df)
    records = _records(df)
    chunks = [(i, min(i + 1 + i % 3, len(df))) for i in range(0, 48, 3)]
    count0, rows0 = _batches(srv.url, "churn")

    def call(span: tuple[int, int]) -> list:
        r = httpx.post(f"{srv.url}/v1/models/churn:predict", json={"instances": records[span[0]:span[1]]}, timeout=10)
        assert r.status_code == 200, r.text
        return [p["label"] for p in r.json()["predictions"]]

    with concurrent.futures.ThreadPoolExecutor(len(chunks)) as pool:
        results = list(pool.map(call, chunks))
    for (a, b), got in zip(chunks, results, strict=True):
        assert got == want[a:b]
    count1, rows1 = _batches(srv.url, "churn")
    assert rows1 - rows0 == sum(b - a for a, b in chunks)
    assert count1 - count0 < len(chunks)  # fewer onnxruntime calls than requests: some were merged


def test_grpc_typed_contents_per_feature(srv, built):
    """Feature tensors in typed ``contents`` (not raw bytes): each field per the feature's datatype."""
    import grpc
    from mlready.runtime.proto import grpc_predict_v2_pb2 as pb
    from mlready.runtime.proto import grpc_predict_v2_pb2_grpc as pb_grpc

    df = built["df"].head(3)
    req = pb.ModelInferRequest(model_name="churn")
    req.inputs.add(name="age", datatype="INT64", shape=[3]).contents.int64_contents.extend(df["age"].tolist())
    req.inputs.add(name="income", datatype="FP32", shape=[3, 1]).contents.fp32_contents.extend(
        df["income"].tolist())
    req.inputs.add(name="state", datatype="BYTES", shape=[3]).contents.bytes_contents.extend(
        s.encode() for s in df["state"])
    req.inputs.add(name="member", datatype="BOOL", shape=[3]).contents.bool_contents.extend(
        bool(b) for b in df["member"])
    with grpc.insecure_channel(srv.grpc) as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        resp = stub.ModelInfer(req, timeout=10)
        labels = [x.decode() for x in _bytes_elements(resp.raw_output_contents[0])]
        assert labels == _expected(built, df)
        del req.inputs[3]
        with pytest.raises(grpc.RpcError) as err:
            stub.ModelInfer(req, timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "missing feature 'member'" in err.value.details()


def _bytes_elements(raw: bytes) -> list[bytes]:
    from mlready.runtime.datatypes import deserialize_bytes_tensor

    return deserialize_bytes_tensor(raw)


def test_openapi_with_auth_on_carries_no_model_data(launch, built):
    """/openapi.json needs no token: with auth on it names the models but carries no example rows."""
    server = launch(built["repo"], auth={"token_env": "NAMED_TOKEN"}, env={"NAMED_TOKEN": "s3cret"})
    doc = httpx.get(f"{server.url}/openapi.json").json()
    body = doc["paths"]["/v1/models/{model}:predict"]["post"]["requestBody"]["content"]["application/json"]
    assert "examples" not in body and "mean radius" not in json.dumps(doc)
    assert httpx.get(f"{server.url}/v2/models/quickstart").status_code == 401
