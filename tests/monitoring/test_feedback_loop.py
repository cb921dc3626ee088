"""The production loop with no label file (issue 16): `mlready serve` on a build of the quickstart with capture
(file sink) and feedback on answers predictions under the clients' X-Request-Id; their true labels come back over
the feedback API (REST and gRPC); the server writes them into the capture files as feedback records; then
`mlready monitor --capture <dir>` (no --labels) joins and scores them, and the retrain pipeline's gather stage makes
the next training set from them alone. A call refused with a 400 writes nothing; an unknown id and a second label
are recorded and counted offline as on the server (not captured, duplicate)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from tests.monitoring.conftest import build_quickstart
from tests.monitoring.test_end_to_end import free_port, running

MODEL = "quickstart"
pytestmark = [pytest.mark.server, pytest.mark.slow]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mlready.engine", *args], capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Serve, predict, post feedback, stop (the server writes what it queued as it stops): the project, the
    capture folder, the eval rows, what the server answered per row and the request ids with their rows."""
    capture = tmp_path_factory.mktemp("feedback-loop") / "capture"
    overrides = ["readiness.enabled=false", "tracking.enabled=false", "serving.capture.enabled=true",
                 f"serving.capture.directory={capture}", "serving.capture.flush_interval_s=0.1",
                 "serving.feedback.enabled=true"]
    project = build_quickstart(tmp_path_factory, "feedback-loop-build", overrides).parent
    ev = pd.read_csv(project / "data" / "eval.csv")
    features, truth = ev.drop(columns="target"), ev["target"].tolist()
    # 23 one-row requests, then 12 of 10 rows: the 143 eval rows
    spans = [(i, i + 1) for i in range(23)] + [(i, i + 10) for i in range(23, 143, 10)]
    http, grpc_port = free_port(), free_port()
    argv = [sys.executable, "-m", "mlready.engine", "serve", "-C", str(project), "--http-port", str(http),
            "--grpc-port", str(grpc_port)]
    url = f"http://127.0.0.1:{http}"
    answered: list[str] = []
    requests: list[tuple[str, int, int]] = []
    with running(argv, project.parent / "serve.log", f"{url}/v2/health/ready", 90):
        for n, (start, end) in enumerate(spans):
            rid = f"loop-{n}"
            r = httpx.post(f"{url}/v1/models/{MODEL}:predict", headers={"X-Request-Id": rid},
                           json={"instances": features.iloc[start:end].to_dict("records")}, timeout=30)
            assert r.status_code == 200 and r.headers["x-request-id"] == rid, r.text
            answered += [p["label"] for p in r.json()["predictions"]]
            requests.append((rid, start, end))
        sig = json.loads((project / "build" / "model" / "signature.json").read_text())
        names = dict(zip(sig["classes"], sig["class_names"], strict=True))  # raw class -> the name answered
        assert set(answered) <= set(names.values())
        rest, over_grpc = requests[:18], requests[18:]
        # REST: the raw classes (0/1), as a label file would hold them; the server writes the class names (the
        # quickstart names its classes "0" and "1")
        items = [{"id": rid, "label": truth[s] if e - s == 1 else truth[s:e]} for rid, s, e in rest]
        r = httpx.post(f"{url}/v2/models/{MODEL}/feedback", json={"feedback": items}, timeout=30)
        assert r.status_code == 200 and r.json() == {"joined": 18, "expired": 0, "unknown": 0, "duplicate": 0}
        refused = httpx.post(f"{url}/v2/models/{MODEL}/feedback", timeout=30, json={"feedback": [
            {"id": "refused-call", "label": 1}, {"id": "loop-1", "label": "cat"}]})
        assert refused.status_code == 400  # counts nothing, writes nothing
        wrong = {0: 1, 1: 0}[truth[0]]
        again = httpx.post(f"{url}/v2/models/{MODEL}/feedback", timeout=30, json={"feedback": [
            {"id": "loop-0", "label": wrong}, {"id": "never-served", "label": 0}]})
        assert again.json() == {"joined": 0, "expired": 0, "unknown": 1, "duplicate": 1}
        # gRPC: the class names (text)
        import grpc
        from mlready.runtime.proto import feedback_pb2 as fpb
        from mlready.runtime.proto import feedback_pb2_grpc as fpb_grpc

        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            answer = fpb_grpc.FeedbackStub(channel).Send(fpb.FeedbackRequest(model_name=MODEL, feedback=[
                fpb.FeedbackItem(id=rid, label=[names[t] for t in truth[s:e]]) for rid, s, e in over_grpc]),
                timeout=30)
        assert (answer.joined, answer.unknown, answer.duplicate) == (len(over_grpc), 0, 0)
    return {"project": project, "capture": capture, "eval": ev, "answered": answered, "requests": requests,
            "names": names, "overrides": overrides}


def test_the_server_writes_every_accepted_label_as_a_feedback_record(loop: dict) -> None:
    recs = [json.loads(line) for f in sorted(loop["capture"].glob("capture-*.jsonl"))
            for line in f.read_text().splitlines()]
    predictions = [r for r in recs if "kind" not in r]
    feedback = [r for r in recs if r.get("kind") == "feedback"]
    assert sorted(r["id"] for r in predictions) == sorted(rid for rid, _, _ in loop["requests"])
    assert len(feedback) == len(loop["requests"]) + 2  # every item of every accepted call
    assert not [r for r in recs if r["id"] == "refused-call"]  # the 400 wrote nothing
    by = {(r["id"], r["outcome"]): r for r in feedback}
    names, truth = loop["names"], loop["eval"]["target"].tolist()
    for rid, s, e in loop["requests"]:
        rec = by[(rid, "joined")]
        assert (rec["model"], rec["rows"], rec["label"]) == (MODEL, e - s, [names[t] for t in truth[s:e]])
        assert set(rec) == {"id", "time", "kind", "model", "outcome", "rows", "label"}
    assert by[("loop-0", "duplicate")]["label"] == [names[1 - truth[0]]]
    assert by[("never-served", "unknown")]["label"] == [names[0]]


def test_monitor_without_a_label_file_scores_the_feedback_records(loop: dict, tmp_path: Path) -> None:
    out = tmp_path / "report"
    run = cli("monitor", "-C", str(loop["project"]), "--capture", str(loop["capture"]), "--window", "1d",
              "--min-rows", "30", "--out", str(out), *loop["overrides"])
    assert run.returncode == 0, run.stderr
    assert "143 labelled predictions (145 labels, 145 from feedback records: 1 not captured, 0 unusable, " \
           "1 duplicate)" in run.stderr
    report = json.loads((out / "monitor.json").read_text())
    assert report["join"] == {"labels": 145, "feedback": 145, "used": 143, "not_captured": 1, "unusable": 0,
                              "duplicate": 1}  # loop-0's later, wrong label lost to its first
    (window,) = report["windows"]
    truth = [loop["names"][t] for t in loop["eval"]["target"]]
    accuracy = float(np.mean(np.array(loop["answered"]) == np.array(truth)))
    assert window["rows"] == 143 and window["gated"] and window["passed"]
    assert window["metrics"]["accuracy"] == round(accuracy, 6) and window["metrics"]["f1"] > 0.95
    assert {g["gate"] for g in window["gates"]} == {"f1 >= 0.95", "auc >= 0.98"}
    assert "145 labels (145 from feedback records)" in (out / "monitor.html").read_text()


def test_monitor_with_neither_labels_nor_feedback_records_exits_2(loop: dict, tmp_path: Path) -> None:
    predictions_only = tmp_path / "predictions.jsonl"
    predictions_only.write_text("".join(line + "\n" for f in sorted(loop["capture"].glob("capture-*.jsonl"))
                                        for line in f.read_text().splitlines() if '"kind"' not in line))
    run = cli("monitor", "-C", str(loop["project"]), "--capture", str(predictions_only), "--out",
              str(tmp_path / "report"), *loop["overrides"])
    assert run.returncode == 2, run.stderr
    assert f"no labels: no label file was given and {predictions_only} holds no feedback records" in run.stderr
    assert "POST /v2/models/<name>/feedback" in run.stderr and not (tmp_path / "report").exists()
    cut = tmp_path / "cut.jsonl"  # a feedback record cut short: exit 2 naming the file and line
    text = predictions_only.read_text()
    feedback_line = next(line for f in sorted(loop["capture"].glob("capture-*.jsonl"))
                         for line in f.read_text().splitlines() if '"kind"' in line)
    cut.write_text(text + feedback_line[:60] + "\n")
    run = cli("monitor", "-C", str(loop["project"]), "--capture", str(cut), "--out", str(tmp_path / "report"),
              *loop["overrides"])
    assert run.returncode == 2 and f"{cut}:{len(text.splitlines()) + 1}: not a capture record" in run.stderr, \
        run.stderr


def test_the_gather_stage_makes_the_next_training_set_from_feedback_records_alone(loop: dict,
                                                                                  tmp_path: Path) -> None:
    project, ev = loop["project"], loop["eval"]
    out = tmp_path / "train.csv"
    run = subprocess.run([sys.executable, "-m", "mlready.generators.ci.retrain_gather", "--capture",
                          str(loop["capture"]), "--target", "target", "--model", MODEL, "--base",
                          str(project / "data" / "train.csv"), "--out", str(out)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    base = pd.read_csv(project / "data" / "train.csv")
    assert f"{len(base) + 143} rows (143 labelled production rows added; 145 labels, 145 from feedback" in run.stdout
    added = pd.read_csv(out).iloc[len(base):].reset_index(drop=True)
    assert list(added.columns) == list(base.columns)
    x, y = ev.drop(columns="target").to_numpy(), ev["target"].to_numpy()
    for _, row in added.iterrows():  # each added row is an eval row (float32 as captured) with its true class
        match = np.isclose(x, row.drop("target").to_numpy(dtype=float), rtol=1e-6).all(axis=1)
        assert match.any() and set(y[match]) == {row["target"]}
