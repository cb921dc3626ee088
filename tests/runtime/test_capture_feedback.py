"""Feedback records: every item of an accepted feedback call is written to the capture sink as a feedback record —
its exact bytes, whatever the outcome, not sampled, through the capture's bounded queue (full: dropped and
counted) — with the truth hidden where the prediction it is the truth of is; a call refused with a 400 writes
nothing, and the HTTP sink types its events apart from predictions. In-process first, then on a real server
(REST and gRPC feedback into the file sink, and a real HTTP collector)."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from mlready.runtime.answers import answers_for
from mlready.runtime.capture import Capture
from mlready.runtime.capture_sinks import StdoutSink
from mlready.runtime.config import CaptureConfig, FeedbackConfig
from mlready.runtime.errors import BadRequest
from mlready.runtime.feedback import FeedbackStore
from mlready.runtime.metrics import create_metrics
from mlready.runtime.signature import Signature

TIME = re.compile(rb'"time":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)"')


def classifier() -> type:
    sig = Signature.from_dict({
        "inputs": [{"name": "X", "datatype": "FP32", "shape": [-1, 2]}],
        "outputs": [{"name": "label", "datatype": "INT64", "shape": [-1]},
                    {"name": "probabilities", "datatype": "FP32", "shape": [-1, 2]}],
        "task": "classification", "classes": [0, 1], "class_names": ["malignant", "benign"]})

    class Version:  # what the store and the capture read of a served model version
        signature, answers = sig, answers_for(sig)

    Version.name, Version.version = "quickstart", 1
    return Version


def regressor() -> type:
    sig = Signature.from_dict({"inputs": [{"name": "X", "datatype": "FP32", "shape": [-1, 2]}],
                               "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 1]}],
                               "task": "regression"})

    class Version:
        signature, answers = sig, answers_for(sig)

    Version.name, Version.version = "price", 1
    return Version


def answered_classes(mv: type, *labels: int) -> dict:
    p = np.array([[0.9, 0.1] if c == 0 else [0.2, 0.8] for c in labels], dtype=np.float32)
    return mv.answers.apply({"label": np.array(labels, dtype=np.int64), "probabilities": p})


def served(out: io.BytesIO, **capture) -> tuple[FeedbackStore, Capture, object]:
    """A feedback store wired to a capture whose sink writes to ``out`` (the writer sleeps between flushes: close()
    writes what waits)."""
    metrics = create_metrics()
    conf = CaptureConfig(enabled=True, sink="stdout", batch_size=10_000, flush_interval_s=3600, **capture)
    cap = Capture(conf, metrics, sink=StdoutSink(conf, out))
    return FeedbackStore(FeedbackConfig(enabled=True, max_rows=5), metrics, capture=cap), cap, metrics.registry


def lines(out: io.BytesIO) -> list[bytes]:
    return out.getvalue().splitlines(keepends=True)


def test_every_accepted_item_is_a_feedback_record_whatever_its_outcome_and_never_sampled():
    """sample_rate 0 records no prediction, yet every label: joined (a raw class written as its class name),
    duplicate (a second label, and the same id twice in one call), unknown, expired (evicted by max_rows)."""
    out = io.BytesIO()
    store, cap, registry = served(out, sample_rate=0.0)
    mv = classifier()
    try:
        store.remember("old", mv, answered_classes(mv, 1))
        store.remember("r1", mv, answered_classes(mv, 0, 1))
        store.remember("r2", mv, answered_classes(mv, 1, 1, 0))  # 6 rows held > max_rows 5: "old" is evicted
        cap.submit("r1", "v2-rest", mv, {"X": np.zeros((2, 2), np.float32)}, answered_classes(mv, 0, 1))
        assert store.send("quickstart", mv, [{"id": "r1", "label": [0, "benign"]}, {"id": "r1", "label": "benign"},
                                             {"id": "never", "label": 1}, {"id": "old", "label": "benign"}]) == {
            "joined": 1, "expired": 1, "unknown": 1, "duplicate": 1}
        assert store.post("quickstart", mv, b'{"feedback": [{"id": "r1", "label": "malignant"}]}')["duplicate"] == 1
    finally:
        cap.close()
    got = lines(out)
    assert len(got) == 5  # the sampled-out prediction is not among them
    stamps = [TIME.search(line).group(1).decode() for line in got]
    assert stamps[0] == stamps[3]  # one call, one time
    expected = [
        '{"id":"r1","time":"%s","kind":"feedback","model":"quickstart","outcome":"joined","rows":2,'
        '"label":["malignant","benign"]}\n',
        '{"id":"r1","time":"%s","kind":"feedback","model":"quickstart","outcome":"duplicate","rows":1,'
        '"label":["benign"]}\n',
        '{"id":"never","time":"%s","kind":"feedback","model":"quickstart","outcome":"unknown","rows":1,'
        '"label":["benign"]}\n',
        '{"id":"old","time":"%s","kind":"feedback","model":"quickstart","outcome":"expired","rows":1,'
        '"label":["benign"]}\n',
        '{"id":"r1","time":"%s","kind":"feedback","model":"quickstart","outcome":"duplicate","rows":1,'
        '"label":["malignant"]}\n']
    assert got == [(e % t).encode() for e, t in zip(expected, stamps, strict=True)]
    written = registry.get_sample_value("mlready_capture_records_total", {"sink": "stdout"})
    assert written == 5 and registry.get_sample_value("mlready_capture_dropped_total", {"reason": "queue_full"}) == 0


def test_a_regression_value_is_written_as_posted_and_a_refused_call_writes_nothing():
    out = io.BytesIO()
    store, cap, _ = served(out)
    mv = regressor()
    try:
        store.remember("p1", mv, {"y": np.array([[1.0], [2.0]], dtype=np.float32)})
        with pytest.raises(BadRequest, match=r"feedback\[0\]\.value: request 'p1' answered 2 rows, got 1 values"):
            store.send("price", mv, [{"id": "p1", "value": 3.0}])
        with pytest.raises(BadRequest, match=r"feedback\[1\]\.value: expected a finite number"):
            store.send("price", mv, [{"id": "p1", "value": [3.0, 1.5]}, {"id": "p2", "value": "x"}])
        assert store.send("price", mv, [{"id": "p1", "value": [3.25, 2]}])["joined"] == 1
    finally:
        cap.close()
    (line,) = lines(out)
    stamp = TIME.search(line).group(1).decode()
    assert line == (f'{{"id":"p1","time":"{stamp}","kind":"feedback","model":"price","outcome":"joined","rows":2,'
                    '"value":[3.25,2.0]}\n').encode()


def test_a_full_queue_drops_and_counts_feedback_records_like_any_record():
    """queue_size 3 with one prediction waiting: of a call of four labels two fit, two are dropped and counted
    (queue_full); the call itself answers as usual."""
    out = io.BytesIO()
    store, cap, registry = served(out, queue_size=3)
    mv = classifier()
    try:
        cap.submit("waiting", "v2-rest", mv, {"X": np.zeros((1, 2), np.float32)}, answered_classes(mv, 1))
        outcome = store.send("quickstart", mv, [{"id": f"f{i}", "label": "benign"} for i in range(4)])
        assert outcome["unknown"] == 4
        assert registry.get_sample_value("mlready_capture_dropped_total", {"reason": "queue_full"}) == 2
    finally:
        cap.close()
    ids = sorted(json.loads(line)["id"] for line in lines(out))
    assert ids == ["f0", "f1", "waiting"]
    assert registry.get_sample_value("mlready_capture_records_total", {"sink": "stdout"}) == 3
    assert cap.queued == 0 and cap._bytes_in == cap._bytes_out  # every byte held was freed


@pytest.mark.parametrize(("mv", "config", "item", "expected"), [
    # the classifier's prediction is its label output: redacted or dropped there, the truth is too
    (classifier, {"redact": ("label",)}, {"label": ["benign", 0]}, {"label": ["[redacted]", "[redacted]"]}),
    (classifier, {"drop": ("label",)}, {"label": ["benign", 0]}, {}),
    (classifier, {"drop": ("label",), "redact": ("label",)}, {"label": "benign"}, {}),  # drop wins, as for outputs
    # the probabilities do not state the class the model answered: hiding them leaves the truth
    (classifier, {"redact": ("probabilities",)}, {"label": "benign"}, {"label": ["benign"]}),
    (classifier, {"redact": ("X",)}, {"label": "benign"}, {"label": ["benign"]}),  # an input: no bearing
    (regressor, {"redact": ("y",)}, {"value": [1.5, 2]}, {"value": ["[redacted]", "[redacted]"]}),
    (regressor, {"drop": ("y",)}, {"value": [1.5, 2]}, {}),
])
def test_the_truth_is_hidden_where_the_prediction_it_is_the_truth_of_is(mv, config, item, expected):
    out = io.BytesIO()
    store, cap, _ = served(out, **config)
    version = mv()
    try:
        store.send(version.name, version, [{"id": "r", **item}])
    finally:
        cap.close()
    (rec,) = [json.loads(line) for line in lines(out)]
    rows = len(item.get("label", item.get("value"))) if isinstance(item.get("label", item.get("value")), list) else 1
    assert rec == {"id": "r", "time": rec["time"], "kind": "feedback", "model": version.name, "outcome": "unknown",
                   "rows": rows, **expected}


def test_the_http_sink_types_feedback_events_apart_from_predictions():
    from mlready.runtime.capture_sinks import EVENT_TYPE, FEEDBACK_EVENT_TYPE, HttpSink

    out = io.BytesIO()
    store, cap, _ = served(out)
    mv = classifier()
    try:
        cap.submit("pred-1", "v2-rest", mv, {"X": np.zeros((1, 2), np.float32)}, answered_classes(mv, 1))
        store.send("quickstart", mv, [{"id": "pred-1", "label": "benign"}])
    finally:
        cap.close()
    conf = CaptureConfig(enabled=True, sink="http", url="http://127.0.0.1:9/events")
    sink, bodies = HttpSink(conf), []
    sink._post = bodies.append  # type: ignore[method-assign]
    sink.write_encoded(lines(out))
    events = {e["data"].get("kind", "prediction"): e for e in json.loads(bodies[0])}
    assert events["prediction"]["type"] == EVENT_TYPE == "dev.mlready.prediction.v1"
    assert events["feedback"]["type"] == FEEDBACK_EVENT_TYPE == "dev.mlready.feedback.v1"
    assert events["feedback"]["subject"] == "pred-1" and events["feedback"]["time"] == events["feedback"]["data"]["time"]


# -- on a real server (loopback): REST and gRPC feedback into the file sink and a real HTTP collector -----------

@pytest.fixture(scope="module")
def repo(tmp_path_factory, mk):
    repo = tmp_path_factory.mktemp("capture-feedback-repo")
    onx, sig, _ = mk.breast_cancer_logreg()
    mk.write_version(repo, "quickstart", 1, onx, {**sig, "class_names": ["malignant", "benign"]})
    return repo


def _served_records(directory, n: int, timeout: float = 10) -> list[dict]:
    import time

    deadline = time.monotonic() + timeout
    while True:
        out = [json.loads(line) for f in sorted(directory.glob("capture-*.jsonl")) for line in f.read_text().splitlines()]
        if len(out) >= n or time.monotonic() > deadline:
            return out
        time.sleep(0.05)


@pytest.mark.server
def test_a_real_server_writes_rest_and_grpc_feedback_beside_its_predictions(launch, repo, breast_cancer_X, tmp_path):
    """Predictions under X-Request-Id, labels over REST (raw classes) and gRPC (names, raw class as text): each
    accepted item is a feedback record with the class names the store resolved; the refused calls (a 400, an
    INVALID_ARGUMENT) write nothing; the prediction records are as without feedback."""
    import grpc
    import httpx
    from mlready.runtime.proto import feedback_pb2 as fpb
    from mlready.runtime.proto import feedback_pb2_grpc as fpb_grpc

    out = tmp_path / "capture"
    srv = launch(repo, capture={"enabled": True, "directory": str(out), "flush_interval_s": 0.05},
                 feedback={"enabled": True})
    for rid, rows in (("s-1", breast_cancer_X[:2]), ("s-2", breast_cancer_X[2:3])):
        r = httpx.post(f"{srv.url}/v1/models/quickstart:predict", json={"instances": rows.tolist()},
                       headers={"X-Request-Id": rid}, timeout=10)
        assert r.status_code == 200 and r.headers["x-request-id"] == rid
    post = lambda items: httpx.post(f"{srv.url}/v2/models/quickstart/feedback", json={"feedback": items},  # noqa: E731
                                    timeout=10)
    assert post([{"id": "s-1", "label": [0, 1]}, {"id": "x-9", "label": "benign"}]).json() == {
        "joined": 1, "expired": 0, "unknown": 1, "duplicate": 0}
    assert post([{"id": "refused", "label": "benign"}, {"id": "s-2", "label": "cat"}]).status_code == 400
    with grpc.insecure_channel(srv.grpc) as channel:
        send = fpb_grpc.FeedbackStub(channel).Send
        assert send(fpb.FeedbackRequest(model_name="quickstart", feedback=[fpb.FeedbackItem(id="s-2", label=["1"])]),
                    timeout=10).joined == 1
        with pytest.raises(grpc.RpcError):
            send(fpb.FeedbackRequest(model_name="quickstart", feedback=[
                fpb.FeedbackItem(id="refused-too", label=["benign"]), fpb.FeedbackItem(id="s-1", label=["x"])]),
                timeout=10)
    recs = _served_records(out, 5)
    predictions = {r["id"]: r for r in recs if "kind" not in r}
    feedback = [{k: v for k, v in r.items() if k != "time"} for r in recs if r.get("kind") == "feedback"]
    assert set(predictions) == {"s-1", "s-2"} and predictions["s-1"]["rows"] == 2
    assert list(predictions["s-1"]) == ["id", "time", "model", "version", "protocol", "rows", "sample_rate", "inputs",
                                        "outputs"]  # the prediction record as before
    assert sorted(feedback, key=lambda r: r["id"]) == [
        {"id": "s-1", "kind": "feedback", "model": "quickstart", "outcome": "joined", "rows": 2,
         "label": ["malignant", "benign"]},
        {"id": "s-2", "kind": "feedback", "model": "quickstart", "outcome": "joined", "rows": 1, "label": ["benign"]},
        {"id": "x-9", "kind": "feedback", "model": "quickstart", "outcome": "unknown", "rows": 1, "label": ["benign"]}]
    import time

    deadline = time.monotonic() + 10  # counted once written: the count may trail the files by a moment
    while 'mlready_capture_records_total{sink="file"} 5.0' not in httpx.get(srv.url + "/metrics", timeout=10).text:
        assert time.monotonic() < deadline, "5 records written, as counted"
        time.sleep(0.05)


@pytest.mark.server
def test_a_real_collector_receives_feedback_events_of_their_own_type(launch, repo, breast_cancer_X):
    import time

    import httpx

    from tests.support.recorder import recording

    with recording() as collector:
        srv = launch(repo, capture={"enabled": True, "sink": "http", "url": collector.url + "/events",
                                    "flush_interval_s": 0.1}, feedback={"enabled": True})
        r = httpx.post(f"{srv.url}/v1/models/quickstart:predict", json={"instances": breast_cancer_X[:1].tolist()},
                       headers={"X-Request-Id": "ce-1"}, timeout=10)
        assert r.status_code == 200
        assert httpx.post(f"{srv.url}/v2/models/quickstart/feedback", timeout=10,
                          json={"feedback": [{"id": "ce-1", "label": "benign"}]}).json()["joined"] == 1
        deadline = time.monotonic() + 10
        while sum(len(r.json()) for r in list(collector.requests)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    events = {e["type"]: e for req in collector.requests for e in req.json()}
    assert set(events) == {"dev.mlready.prediction.v1", "dev.mlready.feedback.v1"}
    fb = events["dev.mlready.feedback.v1"]
    assert fb["subject"] == "ce-1" and fb["time"] == fb["data"]["time"] and fb["data"]["label"] == ["benign"]
    assert events["dev.mlready.prediction.v1"]["subject"] == "ce-1"
