"""Prediction capture in-process (no server): the writer's batch path (one-row requests stacked and written by
one orjson call) gives the same bytes as one record at a time, and the queue's record and byte bounds hold
with the lock-free submit."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from mlready.runtime.answers import answers_for
from mlready.runtime.capture import Capture
from mlready.runtime.capture_sinks import StdoutSink, dumps
from mlready.runtime.config import CaptureConfig
from mlready.runtime.metrics import create_metrics
from mlready.runtime.signature import Signature

FEATURES = [f"f{i} \"%s\"" for i in range(5)]  # a quote and a % in every name: escaped in the templates


def version(name: str, class_names: list[str]) -> type:
    sig = Signature.from_dict({
        "inputs": [{"name": "X", "datatype": "FP32", "shape": [-1, 5]}],
        "outputs": [{"name": "label", "datatype": "INT64", "shape": [-1]},
                    {"name": "probabilities", "datatype": "FP32", "shape": [-1, 2]}],
        "features": [{"name": n, "datatype": "FP32", "input": "X", "index": i} for i, n in enumerate(FEATURES)],
        "task": "classification", "classes": [0, 1], "class_names": class_names})

    class Version:  # what the writer reads of a served model version
        signature, answers = sig, answers_for(sig)

    Version.name, Version.version = name, 1
    return Version


def capture(out: io.BytesIO, **kw) -> Capture:
    # the writer thread sleeps (no batch fills, an hour between flushes): the test drives _take/_write itself
    conf = CaptureConfig(enabled=True, sink="stdout", batch_size=10_000, flush_interval_s=3600, **kw)
    return Capture(conf, create_metrics(), sink=StdoutSink(conf, out))


def answer(mv: type, rows: int, rng: np.random.Generator, dtype=np.float32) -> dict:
    p = rng.random((rows, 1), dtype=np.float32)
    return mv.answers.apply({"label": (p[:, 0] > 0.5).astype(np.int64),
                             "probabilities": np.hstack([1 - p, p]).astype(dtype)})


def test_batch_records_are_the_bytes_of_one_record_at_a_time():
    """A batch mixing what can be stacked (one-row float32 requests of two model versions, interleaved) with
    what cannot (float64 inputs or probabilities, several rows, no rows, a missing input or output, odd values):
    every record's text equals record()'s, in the batch's order."""
    rng = np.random.default_rng(7)
    a, b = version("a", ["no", "yes"]), version("b", ["cat %d", 'dog "x"'])
    one = lambda mv, dtype=np.float32: {"X": rng.normal(size=(1, 5)).astype(dtype)}  # noqa: E731
    batch = []
    for i in range(40):
        mv = a if i % 3 else b
        batch.append((float(i), f"r{i}", "v2-rest", mv, one(mv), answer(mv, 1, rng)))
    odd = np.array([[np.nan, np.inf, -0.0, 1e-45, 3.4e38]], dtype=np.float32)
    batch += [(40.5, "odd", "tfserving", a, {"X": odd}, answer(a, 1, rng)),
              (41.0, "f64", "tfserving", a, one(a, np.float64), answer(a, 1, rng)),
              (42.0, "p64", "tfserving", a, one(a), answer(a, 1, rng, np.float64)),
              (43.0, "rows3", "tfserving", a, {"X": rng.normal(size=(3, 5)).astype(np.float32)}, answer(a, 3, rng)),
              (44.0, "empty", "tfserving", a, {"X": np.zeros((0, 5), np.float32)}, answer(a, 0, rng)),
              (45.0, "noinput", "tfserving", a, {}, answer(a, 1, rng)),
              (46.0, "noproba", "tfserving", b, one(b), {"label": np.array(["yes"], dtype=object)}),
              (47.0, "last", "tfserving", a, one(a), answer(a, 1, rng))]
    batch = [(*item, 0) for item in batch]  # the queue's tuples end with the request's byte size
    cap = capture(io.BytesIO())
    try:
        plan = cap._plan(a)
        # stacked: all but rows3, empty, noinput (f64 in a run of its own; p64 and noproba: inputs only)
        assert sum(plan.stackable(item[4]) is not None for item in batch) == len(batch) - 3
        stacked = [dumps(r) for r in cap.records(batch)]
        single = [dumps(cap.record(*item[:-1])) for item in batch]
    finally:
        cap.close()
    assert stacked == single
    assert [json.loads(line)["id"] for line in stacked] == [item[1] for item in batch]
    first = json.loads(stacked[0])
    assert first["inputs"] == {n: [pytest.approx(float(batch[0][4]["X"][0, i]))] for i, n in enumerate(FEATURES)}
    assert list(first["outputs"]["probabilities"]) == ["cat %d", 'dog "x"']
    assert json.loads(stacked[40])["inputs"][FEATURES[0]] == [None]  # NaN as null, as orjson writes it


def test_batch_with_redaction_is_written_one_record_at_a_time():
    """A redacted or dropped feature takes the general path; redacted outputs are redacted on both paths."""
    rng = np.random.default_rng(3)
    a = version("a", ["no", "yes"])
    batch = [(float(i), f"r{i}", "v2-rest", a, {"X": rng.normal(size=(1, 5)).astype(np.float32)},
              answer(a, 1, rng), 0) for i in range(5)]
    for kw in ({"redact": (FEATURES[1],)}, {"drop": (FEATURES[4],)}, {"redact": ("probabilities",)}):
        cap = capture(io.BytesIO(), **kw)
        try:
            stacked = [dumps(r) for r in cap.records(batch)]
            assert stacked == [dumps(cap.record(*item[:-1])) for item in batch]
        finally:
            cap.close()
        rec = json.loads(stacked[0])
        if "redact" in kw and kw["redact"][0] in FEATURES:
            assert rec["inputs"][FEATURES[1]] == ["[redacted]"]
        elif "drop" in kw:
            assert FEATURES[4] not in rec["inputs"] and len(rec["inputs"]) == 4
        else:
            assert rec["outputs"]["probabilities"] == ["[redacted]"]


def test_queue_bounds_records_and_bytes_without_a_lock():
    """Full by bytes or by records: the request is dropped and counted; what the writer takes frees its bytes;
    close() writes what is queued."""
    rng = np.random.default_rng(5)
    a = version("a", ["no", "yes"])
    x = {"X": rng.normal(size=(1, 5)).astype(np.float32)}
    res = answer(a, 1, rng)
    size = x["X"].nbytes + res["label"].nbytes + res["probabilities"].nbytes
    out = io.BytesIO()
    cap = capture(out, max_queue_bytes=3 * size, queue_size=5)
    dropped = cap._dropped["queue_full"]
    try:
        for i in range(5):
            cap.submit(f"r{i}", "v2-rest", a, x, res)
        assert (cap.queued, dropped._value.get()) == (3, 2)  # the 4th and 5th: over the byte bound
        cap._write(cap._take(2))  # the writer frees two requests' bytes
        for i in range(5, 8):
            cap.submit(f"r{i}", "v2-rest", a, x, res)
        assert (cap.queued, dropped._value.get()) == (3, 3)
    finally:
        cap.close()
    ids = [json.loads(line)["id"] for line in out.getvalue().splitlines()]
    assert ids == ["r0", "r1", "r2", "r5", "r6"]
    small = capture(io.BytesIO(), queue_size=2)  # full by records before bytes
    try:
        for i in range(4):
            small.submit(f"s{i}", "v2-rest", a, x, res)
        assert (small.queued, small._dropped["queue_full"]._value.get()) == (2, 2)
    finally:
        small.close()
