"""Prediction capture on a real server (loopback): request ids returned and recorded (REST and gRPC), records
with named inputs and class-named outputs, redaction, rotating files, stdout, a real HTTP collector receiving
CloudEvents batches, and a dead or stuck sink: predictions keep answering, drops are counted, memory bounded."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest

from tests.runtime.conftest import free_port
from tests.support.recorder import recording

pytestmark = pytest.mark.server

CLASS_NAMES = ["malignant", "benign"]


@pytest.fixture(scope="module")
def repo(tmp_path_factory, mk):
    repo = tmp_path_factory.mktemp("capture-repo")
    onx, sig, X = mk.breast_cancer_logreg()
    mk.write_version(repo, "quickstart", 1, onx, {**sig, "class_names": CLASS_NAMES})
    return repo


@pytest.fixture(scope="module")
def rows(breast_cancer_X):
    return breast_cancer_X[:3].tolist()


def capture(**kw) -> dict:
    return {"capture": {"enabled": True, "flush_interval_s": 0.05, **kw}}


def records(directory: Path, n: int, timeout: float = 10) -> list[dict]:
    """The records in ``directory``'s capture files once there are at least ``n`` (bounded wait)."""
    deadline = time.monotonic() + timeout
    while True:
        out = [json.loads(line) for f in sorted(directory.glob("capture-*.jsonl"))
               for line in f.read_text().splitlines()]
        if len(out) >= n or time.monotonic() > deadline:
            return out
        time.sleep(0.05)


def metric(srv, name: str, **labels) -> float:
    text = httpx.get(srv.url + "/metrics", timeout=10).text
    sel = ",".join(f'{k}="{v}"' for k, v in labels.items())
    m = re.search(rf"^{name}\{{{re.escape(sel)}\}} (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def predict(srv, rows, rid: str | None = None) -> httpx.Response:
    headers = {"X-Request-Id": rid} if rid is not None else {}
    return httpx.post(srv.url + "/v1/models/quickstart:predict", json={"instances": rows}, headers=headers,
                      timeout=10)


def test_file_capture_records_ids_named_inputs_outputs_and_redacts(launch, repo, rows, tmp_path):
    out = tmp_path / "capture"
    srv = launch(repo, **capture(directory=str(out), redact=["mean radius"], drop=["worst texture"]))
    given = predict(srv, rows, rid="client-id-42")
    assert given.status_code == 200
    assert given.headers["x-request-id"] == "client-id-42"
    made = predict(srv, rows[:1])
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])  # generated, and returned
    bad = predict(srv, rows[:1], rid="two words")  # not an id we echo or record: a new one instead
    assert bad.headers["x-request-id"] != "two words"
    v2 = httpx.post(srv.url + "/v2/models/quickstart/infer", timeout=10, headers={"X-Request-Id": "v2-id"},
                    json={"inputs": [{"name": "X", "datatype": "FP32", "shape": [1, 30], "data": rows[0]}]})
    assert v2.status_code == 200, v2.text
    assert v2.headers["x-request-id"] == "v2-id"

    recs = {r["id"]: r for r in records(out, 4)}
    assert set(recs) == {"client-id-42", made.headers["x-request-id"], bad.headers["x-request-id"], "v2-id"}
    r = recs["client-id-42"]
    assert (r["model"], r["version"], r["protocol"], r["rows"]) == ("quickstart", "1", "tfserving", 3)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", r["time"])
    assert r["inputs"]["mean radius"] == ["[redacted]"] * 3  # redacted by name
    assert "worst texture" not in r["inputs"]  # dropped by name
    assert r["inputs"]["mean texture"] == pytest.approx([row[1] for row in rows])  # named columns
    assert len(r["inputs"]) == 29
    labels = r["outputs"]["label"]
    assert len(labels) == 3 and set(labels) <= set(CLASS_NAMES)  # class names, as answered
    proba = r["outputs"]["probabilities"]
    assert set(proba) == set(CLASS_NAMES) and len(proba["benign"]) == 3
    assert recs["v2-id"]["protocol"] == "v2-rest"
    assert metric(srv, "mlready_capture_records_total", sink="file") == 4


def test_files_rotate_by_size_and_keep_at_most_max_files(launch, repo, rows, tmp_path):
    out = tmp_path / "rot"
    srv = launch(repo, **capture(directory=str(out), max_file_bytes=4096, max_files=3))
    for i in range(40):  # one record is ~2 KB: about two per file
        assert predict(srv, rows[:1], rid=f"r{i}").status_code == 200
    deadline = time.monotonic() + 10
    while metric(srv, "mlready_capture_records_total", sink="file") < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    files = sorted(out.glob("capture-*.jsonl"))
    assert len(files) == 3  # older files deleted
    assert all(f.stat().st_size <= 4096 for f in files)
    ids = [json.loads(line)["id"] for f in files for line in f.read_text().splitlines()]
    assert "r39" in ids and "r0" not in ids


def test_stdout_sink(launch, repo, rows, tmp_path):
    srv = launch(repo, **capture(sink="stdout"))
    assert predict(srv, rows[:2], rid="to-stdout").status_code == 200
    deadline = time.monotonic() + 10
    while '"to-stdout"' not in srv.logs() and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = [json.loads(x) for x in srv.logs().splitlines() if x.startswith('{"id":')]
    assert [(x["id"], x["rows"]) for x in lines] == [("to-stdout", 2)]


def test_http_sink_posts_cloudevents_batches(launch, repo, rows):
    with recording() as collector:
        srv = launch(repo, **capture(sink="http", url=collector.url + "/events", batch_size=10,
                                     flush_interval_s=0.2))
        for i in range(25):
            assert predict(srv, rows[:1], rid=f"ce-{i}").status_code == 200
        deadline = time.monotonic() + 10
        while sum(len(r.json()) for r in list(collector.requests)) < 25 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert collector.requests and {r.path for r in collector.requests} == {"/events"}
    events = []
    for req in collector.requests:
        assert req.headers["content-type"] == "application/cloudevents-batch+json"
        batch = req.json()
        assert 1 <= len(batch) <= 10
        events += batch
    assert sorted(e["data"]["id"] for e in events) == sorted(f"ce-{i}" for i in range(25))
    e = events[0]
    assert e["specversion"] == "1.0" and e["type"] == "dev.mlready.prediction.v1"
    assert e["subject"] == e["data"]["id"] and e["time"] == e["data"]["time"]
    assert e["source"].startswith("/mlready/") and len({x["id"] for x in events}) == 25  # unique event ids


def rss_kib(pid: int) -> int:
    return int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text()).group(1))


def test_dead_collector_never_fails_a_prediction(launch, repo, rows):
    dead = f"http://127.0.0.1:{free_port()}/events"  # nothing listens there
    srv = launch(repo, **capture(sink="http", url=dead, batch_size=5, timeout_s=0.5))
    for i in range(30):
        assert predict(srv, rows[:1], rid=f"d{i}").status_code == 200
    deadline = time.monotonic() + 10
    while metric(srv, "mlready_capture_dropped_total", reason="sink_error") < 30 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert metric(srv, "mlready_capture_dropped_total", reason="sink_error") == 30
    assert metric(srv, "mlready_capture_records_total", sink="http") == 0
    assert "prediction capture dropped records" in srv.logs()


def test_full_queue_drops_and_counts_while_predictions_answer(launch, repo, rows):
    """A collector that takes 3 s per batch: the writer is stuck, the queue (20 records) fills, every further
    record is dropped and counted; requests answer at full speed and the server's memory stays flat."""
    with recording(delay=3.0) as collector:
        srv = launch(repo, **capture(sink="http", url=collector.url, batch_size=1, queue_size=20, timeout_s=30))
        big = rows * 100  # 300 rows a request: ~36 KB of inputs held per queued record
        with httpx.Client(timeout=10) as client:
            for _ in range(50):  # warm up allocations before measuring
                client.post(srv.url + "/v1/models/quickstart:predict", json={"instances": big})
            before = rss_kib(srv.proc.pid)
            t0 = time.monotonic()
            for _ in range(400):
                r = client.post(srv.url + "/v1/models/quickstart:predict", json={"instances": big})
                assert r.status_code == 200
            elapsed = time.monotonic() - t0
        grown = rss_kib(srv.proc.pid) - before
        dropped = metric(srv, "mlready_capture_dropped_total", reason="queue_full")
    assert dropped >= 400 - 20 - 5  # at most the queue and what the stuck writer took got through
    assert elapsed < 60  # never waited on the 3 s sink (400 waits would take 20 minutes)
    assert grown < 30 * 1024, f"RSS grew by {grown} KiB"


def test_grpc_request_id_in_trailing_metadata_and_recorded(launch, repo, rows, tmp_path):
    import grpc
    import numpy as np
    from mlready.runtime.proto import grpc_predict_v2_pb2 as pb
    from mlready.runtime.proto import grpc_predict_v2_pb2_grpc as pb_grpc

    out = tmp_path / "grpc"
    srv = launch(repo, **capture(directory=str(out)))
    req = pb.ModelInferRequest(model_name="quickstart")
    req.inputs.add(name="X", datatype="FP32", shape=[2, 30])
    req.raw_input_contents.append(np.asarray(rows[:2], dtype=np.float32).tobytes())
    with grpc.insecure_channel(srv.grpc) as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        _, call = stub.ModelInfer.with_call(req, timeout=10, metadata=[("x-request-id", "grpc-client-7")])
        assert dict(call.trailing_metadata())["x-request-id"] == "grpc-client-7"
        _, call = stub.ModelInfer.with_call(req, timeout=10)
        made = dict(call.trailing_metadata())["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", made)
        bad = pb.ModelInferRequest(model_name="nope")
        with pytest.raises(grpc.RpcError) as err:  # an error answer carries the id too
            stub.ModelInfer(bad, timeout=10, metadata=[("x-request-id", "failed-call")])
        assert dict(err.value.trailing_metadata())["x-request-id"] == "failed-call"
    recs = {r["id"]: r for r in records(out, 2)}
    assert set(recs) == {"grpc-client-7", made}  # failed calls are not recorded
    assert recs["grpc-client-7"]["protocol"] == "v2-grpc" and recs["grpc-client-7"]["rows"] == 2


def test_shadow_stable_and_candidate_records_join_by_request_id(launch, mk, tmp_path, breast_cancer_X):
    """Issue 18's shadow traffic: the Gateway mirrors each request to the candidate with the same X-Request-Id.
    Both servers capture; joining the two capture files by id pairs the stable and candidate answers."""
    from skl2onnx import to_onnx
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    stable_repo, candidate_repo = tmp_path / "stable", tmp_path / "candidate"
    onx, sig, X = mk.breast_cancer_logreg()
    mk.write_version(stable_repo, "quickstart", 1, onx, {**sig, "class_names": CLASS_NAMES})
    y = load_breast_cancer().target
    weak = LogisticRegression(C=1e-4, max_iter=200).fit(X, y)  # a different model: its answers differ
    onx2 = to_onnx(weak, X[:1], options={"zipmap": False}, target_opset=17)
    mk.write_version(candidate_repo, "quickstart", 2, onx2, {**sig, "version": 2, "class_names": CLASS_NAMES})
    stable = launch(stable_repo, **capture(directory=str(tmp_path / "cap-stable")))
    candidate = launch(candidate_repo, **capture(directory=str(tmp_path / "cap-candidate")))
    ids = [f"mirror-{i}" for i in range(20)]
    answers: dict[tuple[str, str], dict] = {}
    for i, rid in enumerate(ids):  # what the mirror does: the same body and X-Request-Id to both
        for name, srv in (("stable", stable), ("candidate", candidate)):
            r = predict(srv, breast_cancer_X[i * 10:i * 10 + 1].tolist(), rid=rid)
            assert r.status_code == 200 and r.headers["x-request-id"] == rid
            answers[name, rid] = r.json()["predictions"][0]
    a = {r["id"]: r for r in records(tmp_path / "cap-stable", 20)}
    b = {r["id"]: r for r in records(tmp_path / "cap-candidate", 20)}
    joined = {rid: (a[rid], b[rid]) for rid in ids}
    assert all(s["version"] == "1" and c["version"] == "2" for s, c in joined.values())
    assert all(s["inputs"] == c["inputs"] for s, c in joined.values())  # the same request on both
    for rid, pair in joined.items():  # each side's record holds what that server answered
        for name, rec in zip(("stable", "candidate"), pair, strict=True):
            answer = answers[name, rid]
            assert rec["outputs"]["label"] == [answer["label"]]
            assert {k: v[0] for k, v in rec["outputs"]["probabilities"].items()} == pytest.approx(
                answer["probabilities"])
    differ = [rid for rid, (s, c) in joined.items() if s["outputs"]["probabilities"] != c["outputs"]["probabilities"]]
    assert len(differ) >= 10  # two different models: the join pairs different answers


def test_record_names_every_kind_of_feature_binding(tmp_path):
    """Per-column inputs (numeric and text), a matrix input whose features are not in column order, and an
    empty request: each feature's column is its own values (the writer's orjson fast path cut right)."""
    import io

    import numpy as np
    from mlready.runtime.capture import Capture
    from mlready.runtime.capture_sinks import StdoutSink, dumps
    from mlready.runtime.config import CaptureConfig
    from mlready.runtime.metrics import create_metrics
    from mlready.runtime.signature import Signature

    sig = Signature.from_dict({
        "inputs": [{"name": "age", "datatype": "INT64", "shape": [-1, 1]},
                   {"name": "state", "datatype": "BYTES", "shape": [-1, 1]},
                   {"name": "num", "datatype": "FP32", "shape": [-1, 2]}],
        "outputs": [{"name": "variable", "datatype": "FP32", "shape": [-1, 1]}],
        "features": [{"name": "age", "datatype": "INT64", "input": "age", "index": None},
                     {"name": "state", "datatype": "BYTES", "input": "state", "index": None},
                     {"name": "income", "datatype": "FP32", "input": "num", "index": 1},
                     {"name": "debt", "datatype": "FP32", "input": "num", "index": 0}]})

    class Version:  # what the writer reads of a served model version
        name, version, signature, answers = "churn", 3, sig, None

    out = io.BytesIO()
    conf = CaptureConfig(enabled=True, sink="stdout", redact=("state",), drop=("debt",))
    cap = Capture(conf, create_metrics(), sink=StdoutSink(conf, out))
    try:
        arrays = {"age": np.array([[40], [7]], dtype=np.int64), "state": np.array([["NY"], ["CA"]], dtype=object),
                  "num": np.array([[0.1, 52.5], [np.nan, 1e-7]], dtype=np.float32)}
        rec = cap.record(0.0, "r1", "v2-rest", Version, arrays, {"variable": np.array([[1.5], [2.5]])})
        empty = cap.record(0.0, "r2", "v2-rest", Version, {k: v[:0] for k, v in arrays.items()}, {})
        cap.sink.write([rec, empty])
    finally:
        cap.close()
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["inputs"] == {"age": [40, 7], "state": ["[redacted]"] * 2, "income": [52.5, 1e-7]}
    assert first["outputs"] == {"variable": [[1.5], [2.5]]}
    assert (first["time"], first["version"], first["rows"]) == ("1970-01-01T00:00:00.000000Z", "3", 2)
    assert second["inputs"] == {"age": [], "state": [], "income": []} and second["rows"] == 0
    plain = Capture(CaptureConfig(enabled=True, sink="stdout"), create_metrics(), sink=StdoutSink(conf, out))
    try:  # nothing dropped: the matrix's other column, a missing value as null
        rec = plain.record(0.0, "r3", "v2-rest", Version, arrays, {})
    finally:
        plain.close()
    assert json.loads(dumps(rec))["inputs"]["debt"] == [pytest.approx(0.1), None]
