"""Prediction capture in-process (no server): the batch path (a run of one-row requests written by one line plan:
each input and output of the run by one orjson call) gives the same bytes as one record at a time, and the
queue's record and byte bounds hold with the lock-free submit."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from mlready.runtime.answers import answers_for
from mlready.runtime.capture import Capture
from mlready.runtime.capture_sinks import LINE, StdoutSink, dumps, each_line
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
    # a model name and an id to escape, other protocols, outputs other than a label and probabilities
    c = version('m "%s" \\', ["cat %d", 'dog "x"'])
    c.version = 12
    batch += [(48.0 + i / 10, f'q"\\{i}%s', proto, c, one(c), answer(c, 1, rng))
              for i, proto in enumerate(["v2-grpc", "sagemaker", "v2-grpc"])]
    swapped = answer(a, 1, rng)
    batch += [(49.0, "extra", "vertex", a, one(a), {**answer(a, 1, rng), "extra": np.zeros(1, np.float32)}),
              (50.0, "swapped", "vertex", a, one(a), {"probabilities": swapped["probabilities"],
                                                       "label": swapped["label"]}),
              (51.0, "unknown", "vertex", a, one(a), {**answer(a, 1, rng), "label": np.array(["maybe"], object)})]
    batch = [(*item, 0) for item in batch]  # the queue's tuples end with the request's byte size
    for rate in (1.0, 0.25):
        cap = capture(io.BytesIO(), sample_rate=rate)
        try:
            plan = cap._plan(a)
            # stacked: all but rows3, empty, noinput (f64 in a run of its own; p64 and noproba: inputs only)
            assert sum(plan.stackable(item[4]) is not None for item in batch) == len(batch) - 3
            stacked = list(each_line(cap.lines(batch)))
            single = [dumps(cap.record(*item[:-1]), LINE) for item in batch]
        finally:
            cap.close()
        assert stacked == single
    assert [json.loads(line)["id"] for line in stacked] == [item[1] for item in batch]
    first = json.loads(stacked[0])
    assert first["inputs"] == {n: [pytest.approx(float(batch[0][4]["X"][0, i]))] for i, n in enumerate(FEATURES)}
    assert list(first["outputs"]["probabilities"]) == ["cat %d", 'dog "x"']
    assert json.loads(stacked[40])["inputs"][FEATURES[0]] == [None]  # NaN as null, as orjson writes it


def test_a_uniform_batch_is_one_text_with_the_bytes_of_one_record_at_a_time():
    """The common case (one model version, protocol and answer structure): the whole batch is one text, equal
    to the records' lines one by one, for ids to escape or not, seconds that change within the batch, and
    answers of every kind the line plan writes (classes, a regression value, a matrix, booleans, integers)."""
    rng = np.random.default_rng(9)
    a = version("a", ["no", 'y"%s\\'])
    sig = Signature.from_dict({"inputs": [{"name": "X", "datatype": "FP64", "shape": [-1, 5]}],
                               "outputs": [{"name": "value", "datatype": "FP32", "shape": [-1]}],
                               "features": [{"name": n, "datatype": "FP64", "input": "X", "index": i}
                                            for i, n in enumerate(FEATURES)], "task": "regression"})

    class Reg:
        name, version, signature, answers = "reg", 2, sig, answers_for(sig)

    ids = ["plain", 'q"\\%s', "r\u00e9", "r\x01", "0" * 128]
    classes = [(float(i) + i / 7, ids[i % len(ids)], "v2-grpc", a,
                {"X": rng.normal(size=(1, 5)).astype(np.float32)}, answer(a, 1, rng), 0) for i in range(30)]
    values = [(1.5e9 + i / 3, f"v{i}", "sagemaker", Reg, {"X": rng.normal(size=(1, 5)) * 1e6},
               {"value": rng.normal(size=1).astype(np.float32), "m": rng.normal(size=(1, 3)),
                "ok": np.array([i % 2 == 0]), "n": np.array([[i, -i]], np.int32)}, 0) for i in range(30)]
    # the clock stepped back and forth within a batch: its first and last second agree, the middle ones do not
    stepped = [(t, *item[1:]) for t, item in zip((100.25, 99.5, 101.0, 100.75), classes, strict=False)]
    written = []
    for batch, rate in ((classes, 1.0), (values, 0.5), (stepped, 1.0)):
        cap = capture(io.BytesIO(), sample_rate=rate)
        try:
            texts = cap.lines(batch)
            single = [dumps(cap.record(*item[:-1]), LINE) for item in batch]
        finally:
            cap.close()
        assert len(texts) == 1 and list(each_line(texts)) == single
        written.append(single)
    assert json.loads(written[0][1])["id"] == 'q"\\%s' and json.loads(written[0][3])["id"] == "r\x01"
    assert [json.loads(line)["time"][17:] for line in written[2]] == ["40.250000Z", "39.500000Z", "41.000000Z",
                                                                     "40.750000Z"]
    assert json.loads(written[1][2])["outputs"] == {"value": [pytest.approx(float(values[2][5]["value"][0]))],
                                                "m": [values[2][5]["m"][0].tolist()], "ok": [True], "n": [[2, -2]]}


def test_answers_of_another_structure_in_a_uniform_batch_are_written_apart_without_redoing_the_run():
    """One model version, protocol and input shape (the one-pass check passes), but a few answers differ (a
    float64 probability, an extra output, outputs in another order): the rest is written by the one run it
    was, the few apart, every line with the bytes of its record, in order."""
    rng = np.random.default_rng(5)
    a = version("a", ["no", "yes"])
    batch = [(float(i), f"r{i}", "tfserving", a, {"X": rng.normal(size=(1, 5)).astype(np.float32)},
              answer(a, 1, rng), 0) for i in range(12)]
    odd = {3: answer(a, 1, rng, np.float64), 7: {**answer(a, 1, rng), "extra": np.zeros(1, np.float32)}}
    swapped = answer(a, 1, rng)
    odd[9] = {"probabilities": swapped["probabilities"], "label": swapped["label"]}
    batch = [(*item[:5], odd.get(i, item[5]), 0) for i, item in enumerate(batch)]
    cap = capture(io.BytesIO())
    runs = []
    run_text = cap._run_text
    cap._run_text = lambda items, dtypes: runs.append(len(items)) or run_text(items, dtypes)
    try:
        assert cap._plan(a).uniform(batch) is not None
        lines = list(each_line(cap.lines(batch)))
        single = [dumps(cap.record(*item[:-1]), LINE) for item in batch]
    finally:
        cap.close()
    assert lines == single
    assert runs[0] == 12 and 12 not in runs[1:]  # the whole batch's run is made once; then only the misfits
    assert [json.loads(line)["id"] for line in lines] == [f"r{i}" for i in range(12)]


def test_batch_with_redaction_is_written_one_record_at_a_time():
    """A redacted or dropped feature takes the general path; redacted outputs are redacted on both paths."""
    rng = np.random.default_rng(3)
    a = version("a", ["no", "yes"])
    batch = [(float(i), f"r{i}", "v2-rest", a, {"X": rng.normal(size=(1, 5)).astype(np.float32)},
              answer(a, 1, rng), 0) for i in range(5)]
    for kw in ({"redact": (FEATURES[1],)}, {"drop": (FEATURES[4],)}, {"redact": ("probabilities",)},
               {"drop": ("label",)}, {"redact": ("label", "probabilities"), "drop": ("probabilities",)}):
        cap = capture(io.BytesIO(), **kw)
        try:
            stacked = list(each_line(cap.lines(batch)))
            assert stacked == [dumps(cap.record(*item[:-1]), LINE) for item in batch]
        finally:
            cap.close()
        rec = json.loads(stacked[0])
        if "redact" in kw and kw["redact"][0] in FEATURES:
            assert rec["inputs"][FEATURES[1]] == ["[redacted]"]
        elif kw.get("drop") == (FEATURES[4],):
            assert FEATURES[4] not in rec["inputs"] and len(rec["inputs"]) == 4
        elif kw.get("drop") == ("label",):
            assert list(rec["outputs"]) == ["probabilities"]
        elif "drop" in kw:
            assert rec["outputs"] == {"label": ["[redacted]"]}
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


class SlowSink(StdoutSink):
    """A sink whose writes wait until released: what the loop builds piles up as built payloads."""

    def __init__(self, conf: CaptureConfig, out: io.BytesIO):
        super().__init__(conf, out)
        import threading

        self.release = threading.Event()

    def write_encoded(self, lines: list[bytes]) -> None:
        self.release.wait(10)
        super().write_encoded(lines)


def test_full_batches_are_built_on_the_loop_and_partial_ones_by_the_writer_when_due():
    """On an event loop, each full batch is built by one loop callback (after the requests that filled it) and
    only written by the writer thread; what a partial batch leaves is built by the writer once its oldest record
    is flush_interval_s old. Every record is written once, none dropped."""
    import asyncio
    import threading
    import time

    rng = np.random.default_rng(11)
    a = version("a", ["no", "yes"])
    out = io.BytesIO()
    conf = CaptureConfig(enabled=True, sink="stdout", batch_size=4, flush_interval_s=0.3)
    cap = Capture(conf, create_metrics(), sink=StdoutSink(conf, out))
    builders: list[str] = []
    lines = cap.lines

    def spy(batch):
        builders.append(threading.current_thread().name)
        return lines(batch)

    cap.lines = spy  # type: ignore[method-assign]

    async def main() -> None:
        for i in range(10):
            cap.submit(f"r{i}", "v2-rest", a, {"X": rng.normal(size=(1, 5)).astype(np.float32)}, answer(a, 1, rng))
            if i % 4 == 3:
                assert cap._building  # the batch is full: its build is scheduled, not run inside submit
                await asyncio.sleep(0)

    try:
        asyncio.run(main())
        assert builders == ["MainThread", "MainThread"]  # two full batches, on the loop's thread
        deadline = time.monotonic() + 10
        while out.getvalue().count(b"\n") < 10 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert builders[2:] == ["mlready-capture"]  # the last two records: by the writer, once due
    finally:
        cap.close()
    ids = [json.loads(line)["id"] for line in out.getvalue().splitlines()]
    assert sorted(ids, key=lambda s: int(s[1:])) == [f"r{i}" for i in range(10)]
    assert cap._dropped["queue_full"]._value.get() == cap._dropped["sink_error"]._value.get() == 0


def test_built_payloads_count_against_the_queue_bounds():
    """Records built on the loop but not yet written (a slow sink) still count against queue_size, and their
    text against max_queue_bytes: a sink that cannot keep up drops and counts, it never grows memory."""
    import asyncio
    import time

    rng = np.random.default_rng(12)
    a = version("a", ["no", "yes"])
    out = io.BytesIO()
    conf = CaptureConfig(enabled=True, sink="stdout", batch_size=2, flush_interval_s=3600, queue_size=6)
    sink = SlowSink(conf, out)
    cap = Capture(conf, create_metrics(), sink=sink)
    try:
        t0 = time.monotonic()
        asyncio.run(_fill(cap, a, rng))
        assert time.monotonic() - t0 < 2  # the loop never waits for the blocked sink
        assert cap.queued == 6 and cap._dropped["queue_full"]._value.get() == 4
        assert cap._bytes_in - cap._bytes_out > 6 * 300  # held as text: ~500 bytes a record
        sink.release.set()
    finally:
        cap.close()
    assert cap.queued == 0 and cap._bytes_in == cap._bytes_out
    assert len(out.getvalue().splitlines()) == 6
    # 10 requests' tensors are ~400 bytes: only their built text can fill a 1500-byte bound
    conf = CaptureConfig(enabled=True, sink="stdout", batch_size=2, flush_interval_s=3600, max_queue_bytes=1500)
    small = Capture(conf, create_metrics(), sink=SlowSink(conf, io.BytesIO()))
    try:
        asyncio.run(_fill(small, a, rng))
        assert small._dropped["queue_full"]._value.get() > 0
    finally:
        small.sink.release.set()
        small.close()


async def _fill(cap: Capture, mv: type, rng: np.random.Generator) -> None:
    import asyncio

    for i in range(10):
        cap.submit(f"r{i}", "v2-rest", mv, {"X": rng.normal(size=(1, 5)).astype(np.float32)}, answer(mv, 1, rng))
        await asyncio.sleep(0)


def test_large_batches_are_built_by_the_writer_not_on_the_loop():
    """A batch of more than LOOP_BUILD_BYTES of tensors (a large request's text could hold the loop for
    milliseconds) is handed to the writer thread unbuilt; its records are written all the same."""
    import asyncio
    import threading
    import time

    from mlready.runtime.capture import LOOP_BUILD_BYTES

    sig = Signature.from_dict({"inputs": [{"name": "X", "datatype": "FP32", "shape": [-1, -1]}],
                               "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1]}]})

    class Big:
        name, version, signature, answers = "big", 1, sig, None

    out = io.BytesIO()
    conf = CaptureConfig(enabled=True, sink="stdout", batch_size=2, flush_interval_s=3600)
    cap = Capture(conf, create_metrics(), sink=StdoutSink(conf, out))
    builders: list[str] = []
    lines = cap.lines
    cap.lines = lambda batch: builders.append(  # type: ignore[method-assign]
        threading.current_thread().name) or lines(batch)

    async def main() -> None:
        for i in range(2):
            x = np.full((1, LOOP_BUILD_BYTES // 4), i, np.float32)  # two of them: over the bound
            cap.submit(f"big{i}", "v2-rest", Big, {"X": x}, {"y": np.zeros(1, np.float32)})
        await asyncio.sleep(0)
        assert builders == []  # nothing built on the loop

    try:
        asyncio.run(main())
        deadline = time.monotonic() + 10
        while out.getvalue().count(b"\n") < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        cap.close()
    assert builders == ["mlready-capture"]
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["id"] for r in lines] == ["big0", "big1"] and len(lines[1]["inputs"]["X"][0]) == LOOP_BUILD_BYTES // 4
    assert cap.queued == 0 and cap._bytes_in == cap._bytes_out


def test_the_loop_wakes_an_idle_writer_once_then_the_writer_writes_on_its_ticks():
    """Waking the writer thread for every batch built on the loop cost the loop more than building it (the
    Event's notify, then the writer back on the GIL): an idle writer is woken by the first built batch (a record
    never waits a whole flush interval, here an hour, behind an idle writer); while batches keep coming it
    writes what waits every WRITE_TICK_S, unwoken. Every record is written, in order, within a few ticks."""
    import asyncio
    import threading
    import time

    from mlready.runtime.capture import WAKE_RECORDS, WRITE_TICK_S

    rng = np.random.default_rng(5)
    mv = version("a", ["no", "yes"])
    out = io.BytesIO()
    conf = CaptureConfig(enabled=True, sink="stdout", batch_size=10, flush_interval_s=3600)
    cap = Capture(conf, create_metrics(), sink=StdoutSink(conf, out))
    wakes: list[str] = []
    real_set = cap._wake.set
    cap._wake.set = lambda: wakes.append(threading.current_thread().name) or real_set()  # type: ignore[method-assign]
    batches = 40  # 400 records: below WAKE_RECORDS, so only the idle writer is woken
    assert batches * conf.batch_size < WAKE_RECORDS
    time.sleep(0.2)  # the writer is idle: asleep for the flush interval

    def written() -> int:
        return out.getvalue().count(b"\n")

    async def main() -> float:
        t0 = time.monotonic()
        for b in range(batches):
            for i in range(conf.batch_size):
                n = b * conf.batch_size + i
                cap.submit(f"r{n}", "v2-rest", mv, {"X": rng.normal(size=(1, 5)).astype(np.float32)},
                           answer(mv, 1, rng))
            await asyncio.sleep(0.005)  # the batch is built by a loop callback; the next comes 5 ms later
        deadline = time.monotonic() + 10
        while written() < batches * conf.batch_size and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        return time.monotonic() - t0

    try:
        took = asyncio.run(main())
    finally:
        cap.close()
    ids = [json.loads(line)["id"] for line in out.getvalue().splitlines()]
    assert ids == [f"r{n}" for n in range(batches * conf.batch_size)]
    # the batches took >= 0.2 s to come; all written within a few ticks of the last, not a flush interval later
    assert took < batches * 0.005 + 20 * WRITE_TICK_S + 1, took
    # one wake-up for the idle writer (maybe one more if a pause let it fall idle), not one per batch
    assert 1 <= len([w for w in wakes if w == "MainThread"]) <= 3, wakes


def test_http_events_take_subject_and_time_from_each_line():
    """The HTTP sink wraps each line as an event's data and reads its subject and time from the line's head,
    even for an id that holds the text of the next key."""
    from mlready.runtime.capture_sinks import HttpSink

    rng = np.random.default_rng(13)
    a = version("a", ["no", "yes"])
    ids = ['x","model":"y', "plain", 'z\\",model:']
    batch = [(1.5e9 + i, rid, "v2-rest", a, {"X": rng.normal(size=(1, 5)).astype(np.float32)}, answer(a, 1, rng), 0)
             for i, rid in enumerate(ids)]
    conf = CaptureConfig(enabled=True, sink="http", url="http://127.0.0.1:9/events")
    sink, bodies = HttpSink(conf), []
    sink._post = bodies.append  # type: ignore[method-assign]
    cap = capture(io.BytesIO())
    try:
        sink.write_encoded(cap.lines(batch))
    finally:
        cap.close()
    events = json.loads(bodies[0])
    assert [e["subject"] for e in events] == [e["data"]["id"] for e in events] == ids
    assert [e["time"] for e in events] == [e["data"]["time"] for e in events]
    assert events[1]["time"] == "2017-07-14T02:40:01.000000Z" and events[0]["data"]["model"] == "a"


def test_a_run_of_several_numeric_inputs_is_written_by_one_plan():
    """Two model inputs of different dtypes, each carrying features in column order: a run through the line
    plan (the general path: the batch is not one single-input run), the same bytes as one record at a time."""
    sig = Signature.from_dict({
        "inputs": [{"name": "num", "datatype": "FP32", "shape": [-1, 2]},
                   {"name": "age", "datatype": "INT64", "shape": [-1, 1]}],
        "outputs": [{"name": "label", "datatype": "INT64", "shape": [-1]},
                    {"name": "probabilities", "datatype": "FP32", "shape": [-1, 2]}],
        "features": [{"name": "income", "datatype": "FP32", "input": "num", "index": 0},
                     {"name": "debt", "datatype": "FP32", "input": "num", "index": 1},
                     {"name": "age", "datatype": "INT64", "input": "age", "index": 0}],
        "task": "classification", "classes": [0, 1], "class_names": ["stays", "churns"]})

    class Churn:
        name, version, signature, answers = "churn", 4, sig, answers_for(sig)

    rng = np.random.default_rng(21)
    batch = [(2e9 + i / 10, f"c{i}", "tfserving", Churn,
              {"num": rng.normal(size=(1, 2)).astype(np.float32), "age": np.array([[20 + i]], np.int64)},
              answer(Churn, 1, rng), 0) for i in range(12)]
    cap = capture(io.BytesIO())
    try:
        assert cap._plan(Churn).uniform(batch) is None  # not the single-input case
        texts = cap.lines(batch)
        single = [dumps(cap.record(*item[:-1]), LINE) for item in batch]
        assert len(cap._lines) == 1  # written by one line plan
    finally:
        cap.close()
    assert list(each_line(texts)) == single
    rec = json.loads(single[3])
    assert list(rec["inputs"]) == ["income", "debt", "age"] and rec["inputs"]["age"] == [23]


def test_new_request_ids_are_random_unique_and_never_shared_with_a_forked_child():
    """Ids are drawn from os.urandom in blocks: 128 bits each, all different, and a child forked with ids still
    in the block draws its own, never the ones its parent hands out next."""
    import os
    import re

    from mlready.runtime.capture import new_request_id, request_id

    ids = [new_request_id() for _ in range(1000)]
    assert len(set(ids)) == 1000 and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert request_id("client-id-1") == "client-id-1" and len(request_id("has space")) == 32
    new_request_id()  # the block is partly used: the child would inherit the rest
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, to the parent
        try:
            os.write(write, "".join(new_request_id() for _ in range(10)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as f:
        child = f.read()
    os.waitpid(pid, 0)
    parent = [new_request_id() for _ in range(10)]
    assert len(child) == 320 and not {child[i:i + 32] for i in range(0, 320, 32)} & set(parent)
