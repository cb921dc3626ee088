"""Prediction capture (``capture`` in the runtime config): a sample of answered requests, recorded off the hot
path.

A request that :meth:`Capture.submit` samples costs a tuple on a bounded queue (the decoded input arrays and the
answer are referenced, not copied). Each time ``batch_size`` requests are queued, one callback on the event loop
turns them into the records' JSON lines (inputs named by the signature's ``features``, outputs as answered,
redacted and dropped fields applied), between requests and after they were answered; the writer thread hands the
lines to the sink (``capture_sinks``: file writes, HTTP POSTs) every :data:`WRITE_TICK_S` while records come in
(woken per batch, it cost the loop more than the building), and builds what a partial batch leaves once it is
``flush_interval_s`` old. Building on the loop's thread costs less than on the writer's: the arrays are still in
that core's cache and no third thread competes for the GIL (figures in runtime/README.md §capture). When the queue
is full (by records or by bytes, built payloads included) a record is dropped and counted, and when the sink fails
(a dead collector, a full disk) its batch is: the request never waits for the sink, memory stays bounded, a
prediction never fails because of capture. Drops are counted in ``mlready_capture_dropped_total{reason}`` and
logged at most once per :data:`LOG_EVERY_S`.

The true labels the feedback API accepts go to the same sink as *feedback records* (``"kind": "feedback"``,
:meth:`Capture.feedback`), through the same bounds and writer, so the capture files hold both halves of the
production loop (``mlready monitor`` and the retrain pipeline's gather stage read them).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import re
import threading
import time
from collections import deque
from typing import Any

import numpy as np
import orjson
from mlready.runtime.capture_sinks import LINE, dumps, make_sink
from mlready.runtime.config import CaptureConfig
from mlready.runtime.metrics import Metrics

log = logging.getLogger("mlready.runtime.capture")

_NUMPY = orjson.OPT_SERIALIZE_NUMPY
LOG_EVERY_S = 10.0  # the most one drop log line per this many seconds
# A batch of more tensor bytes than this is built into records by the writer thread, not on the event loop (its
# text could take milliseconds to make): 16384 float32 values; 100 quickstart requests hold ~15 KB.
LOOP_BUILD_BYTES = 64 * 1024
# The writer thread is not woken for each batch the loop builds (a wake-up, the Event's notify on the loop and the
# writer's return to the GIL, cost the loop more than building the batch did): it writes what waits every
# WRITE_TICK_S while records wait, and is woken early only when this many records or bytes wait for it.
WRITE_TICK_S = 0.05
WAKE_RECORDS = 2000
WAKE_BYTES = 4 * 1024 * 1024
REDACTED = "[redacted]"
_ID = re.compile(r"[\x21-\x7e]{1,128}")  # printable ASCII, no spaces: safe to echo in a header and to record


# New request ids: 128 random bits each (as random as uuid4().hex), drawn from os.urandom 256 at a time: one
# getrandom() call per 256 requests instead of one each. list.pop is atomic under the GIL, so threads may share
# the pool; a forked child starts with an empty one (never its parent's ids).
_IDS: list[str] = []
_IDS_AT_ONCE = 256
os.register_at_fork(after_in_child=_IDS.clear)


def new_request_id() -> str:
    try:
        return _IDS.pop()
    except IndexError:
        text = os.urandom(16 * _IDS_AT_ONCE).hex()
        _IDS.extend([text[i:i + 32] for i in range(32, len(text), 32)])
        return text[:32]


def request_id(given: str | bytes | None) -> str:
    """The client's request id when it is 1..128 printable ASCII characters, else a new random one."""
    if isinstance(given, bytes):
        given = given.decode("latin-1")
    if given and _ID.fullmatch(given):
        return given
    return new_request_id()


class Capture:
    """The bounded queue and the writer thread of one server process."""

    def __init__(self, conf: CaptureConfig, metrics: Metrics, sink: Any = None):
        self.conf = conf
        self.rate = conf.sample_rate
        self.sink = sink if sink is not None else make_sink(conf)
        self._queue: deque[tuple] = deque()  # appended by submit, popped by either thread: deque ops are atomic
        # Monotonic counters, each changed by one thread only (no lock): bytes queued (requests' tensors, then
        # their payload's size once built) by the loop, bytes freed (written or dropped) by the writer; records
        # built on the loop, and those of them the writer has written or dropped.
        self._bytes_in = self._bytes_out = 0
        self._built_in = self._built_out = 0
        # (payload, records, bytes, raw) built on the loop; raw: requests left for the writer to build
        self._built: deque[tuple[Any, int, int, bool]] = deque()
        self._building = False  # a build callback is scheduled on the loop
        self._max_records, self._max_bytes, self._batch = conf.queue_size, conf.max_queue_bytes, conf.batch_size
        self._wake = threading.Event()
        self._idle = False  # the writer sleeps a whole flush interval: the loop wakes it for a built batch
        self._stop = False
        self._written = metrics.child(metrics.capture_records, self.sink.name)
        self._dropped = {r: metrics.child(metrics.capture_dropped, r) for r in ("queue_full", "sink_error")}
        self._unlogged = {r: 0 for r in self._dropped}
        self._logged_at = 0.0
        self._redact, self._drop = frozenset(conf.redact), frozenset(conf.drop)
        self._plans: dict[int, _InputPlan] = {}  # by id(signature); either builder may add one (a twin is harmless)
        self._lines: dict[tuple, _LinePlan] = {}  # by (id(model version), protocol, input dtypes, answer structure)
        # (second, its date and time text): one attribute, read and replaced whole, since the loop and the writer
        # thread both build records
        self._clock: tuple[int, str] = (-1, "")
        self._thread = threading.Thread(target=self._run, name="mlready-capture", daemon=True)
        self._thread.start()

    # -- the request's side: never blocks ------------------------------------------------------------------

    def submit(self, rid: str, protocol: str, mv: Any, arrays: dict[str, np.ndarray],
               result: dict[str, Any]) -> None:
        """Queue one answered request (called on the event loop's thread only: no lock, the bytes counter it
        adds to is its own, the writer thread's subtraction another)."""
        if self.rate < 1.0 and random.random() >= self.rate:
            return
        queue = self._queue
        if (len(queue) + self._built_in - self._built_out >= self._max_records
                or self._bytes_in - self._bytes_out >= self._max_bytes):
            self._drop_count("queue_full", 1)
            return
        size = 0
        for a in arrays.values():
            size += a.nbytes
        for a in result.values():
            size += a.nbytes if isinstance(a, np.ndarray) else 64
        self._bytes_in += size
        queue.append((time.time(), rid, protocol, mv, arrays, result, size))
        if len(queue) >= self._batch and not self._building:  # once per batch
            self._schedule()

    # -- building on the event loop ------------------------------------------------------------------------

    def _schedule(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # submitted from outside an event loop: the writer thread builds
            self._wake.set()
            return
        self._building = True
        loop.call_soon(self._build)

    def _build(self) -> None:
        """One batch's records and payload, on the loop's thread (a callback, after the requests before it)."""
        self._building = False
        batch, size = self._pop(self._batch)
        if size > LOOP_BUILD_BYTES:  # large requests: the writer builds them, the loop is never held for long
            self._built_in += len(batch)
            self._built.append((batch, len(batch), size, True))
            self._nudge()
        elif batch:
            try:
                payload, nbytes = self._payload(batch)
            except Exception as exc:  # noqa: BLE001 - a record that cannot be built never fails a prediction
                self._bytes_in -= size  # the loop's own counter: nothing of this batch is held any more
                self._drop_count("sink_error", len(batch), exc)
            else:
                self._bytes_in += nbytes - size  # the arrays are freed, the payload is held until written
                self._built_in += len(batch)
                self._built.append((payload, len(batch), nbytes, False))
                self._nudge()
        if len(self._queue) >= self._batch:
            self._schedule()

    def _nudge(self) -> None:
        """Wake the writer when it sleeps for a whole flush interval (nothing was waiting) or when much waits for
        it; else its next tick (WRITE_TICK_S) writes the batch."""
        if (self._idle or self._built_in - self._built_out >= WAKE_RECORDS
                or self._bytes_in - self._bytes_out >= WAKE_BYTES) and not self._wake.is_set():
            self._wake.set()

    # -- the writer thread ---------------------------------------------------------------------------------

    def _run(self) -> None:
        interval = self.conf.flush_interval_s
        tick = min(interval, WRITE_TICK_S)
        wrote = False
        while True:
            # Busy (it wrote last time, or records wait): a tick, and the loop's batches wait for it. Idle: a
            # flush interval (the most a queued record waits), and the loop wakes it for a built batch. The
            # flag is published, then the queues looked at again: a batch built in between is not left waiting.
            idle = not (wrote or self._queue or self._built)
            self._idle = idle
            if idle and (self._queue or self._built):
                idle = self._idle = False
            self._wake.wait(interval if idle else tick)
            self._idle = False
            self._wake.clear()
            stopping = self._stop
            wrote = self._drain()
            # what the loop does not build: a partial batch once its oldest record is due, a batch submitted
            # from outside a loop, and everything at close
            while self._queue and (stopping or (len(self._queue) >= self._batch and not self._building)
                                   or self._oldest_age() >= interval):
                self._write(self._take(self._batch))
                self._drain()
                wrote = True
            try:
                self.sink.tick()
            except Exception:  # noqa: BLE001 - a sink's bookkeeping must not end capture
                log.exception("capture sink failed")
            if stopping:
                return

    def _oldest_age(self) -> float:
        try:
            return time.time() - self._queue[0][0]
        except IndexError:  # taken by the loop meanwhile
            return 0.0

    def _drain(self) -> bool:
        """Write the payloads the loop built; whether there were any."""
        built = self._built
        some = bool(built)
        while built:
            payload, n, nbytes, raw = built.popleft()
            if raw:
                self._write(payload)
            else:
                try:
                    self.sink.write_encoded(payload)
                except Exception as exc:  # noqa: BLE001 - a failing sink never fails a prediction or stops capture
                    self._drop_count("sink_error", n, exc)
                else:
                    self._written.inc(n)
            self._bytes_out += nbytes
            self._built_out += n
        return some

    def _pop(self, n: int) -> tuple[list[tuple], int]:
        batch = []
        queue, size = self._queue, 0
        while queue and len(batch) < n:
            item = queue.popleft()
            size += item[-1]
            batch.append(item)
        return batch, size

    def _take(self, n: int) -> list[tuple]:
        """Up to ``n`` queued requests, for the writer thread (their bytes freed on its counter)."""
        batch, size = self._pop(n)
        self._bytes_out += size
        return batch

    def _write(self, batch: list[tuple]) -> None:
        try:
            self.sink.write_encoded(self._payload(batch)[0])
        except Exception as exc:  # noqa: BLE001 - a failing sink never fails a prediction or stops capture
            self._drop_count("sink_error", len(batch), exc)
            return
        self._written.inc(len(batch))

    def _payload(self, batch: list[tuple]) -> tuple[list[bytes], int]:
        """What the sink writes for ``batch``: its JSON lines (texts of one or more lines), and their bytes."""
        lines = self.lines(batch)
        return lines, sum(map(len, lines))

    def _drop_count(self, reason: str, n: int, exc: Exception | None = None) -> None:
        self._dropped[reason].inc(n)
        self._unlogged[reason] += n  # racy across threads by design: the log line is approximate, the metric not
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY_S:
            self._logged_at = now
            counts, self._unlogged = self._unlogged, {r: 0 for r in self._dropped}
            log.warning("prediction capture dropped records", extra={
                "dropped": {r: c for r, c in counts.items() if c}, "sink": self.sink.name,
                **({"error": f"{type(exc).__name__}: {exc}"[:300]} if exc is not None else {})})

    # -- one record ----------------------------------------------------------------------------------------

    def lines(self, batch: list[tuple]) -> list[bytes]:
        """The JSON lines of queued requests (what every sink writes), in their order. One-row requests of one
        model version and protocol whose inputs all take the plain path (numeric, every column in order, none
        redacted or dropped) and whose answers have one structure are written together by a
        :class:`_LinePlan`: each input and each output of the whole run written by one orjson call, cut into
        values, and joined with the record's fixed text once (~3 µs a quickstart record against ~6 µs for a
        record dict). Any other request goes through :meth:`record`; the bytes are the same either way."""
        key = self._plan(batch[0][3]).uniform(batch)
        if key is not None:  # the common case: the whole batch is one run
            done = self._run_text(batch, key)
            if done[0] is not None and not done[1]:
                return [done[0]]
            out: list[Any] = [None] * len(batch)
            self._fill(batch, list(range(len(batch))), key, out, 0, done)
            return out
        runs: dict[tuple, list[int]] = {}  # by (model version, protocol, input dtypes)
        single: list[int] = []
        last, plan = None, None
        for i, item in enumerate(batch):
            if item[3] is not last:  # a batch is mostly one model version: one plan lookup a run
                last, plan = item[3], self._plan(item[3])
            key = plan.stackable(item[4])
            if key is None:
                single.append(i)
            else:
                runs.setdefault((id(item[3]), item[2], key), []).append(i)
        out = [None] * len(batch)
        for key, idx in runs.items():
            self._fill(batch, idx, key[2], out, 0)
        for i in single:
            out[i] = self._line(batch[i])
        return out

    def _fill(self, batch: list[tuple], idx: list[int], dtypes: Any, out: list[Any], depth: int,
              done: tuple[bytes | None, list[int]] | None = None) -> None:
        """Put the lines of the run ``idx`` (positions in ``batch``) in ``out``: the requests whose answers fit
        the first one's structure together, the rest as a run of their own (a few levels), then one by one.
        ``done``: the run's :meth:`_run_text`, when the caller has it already."""
        if depth >= 3:
            for i in idx:
                out[i] = self._line(batch[i])
            return
        text, misfits = done if done is not None else self._run_text([batch[i] for i in idx], dtypes)
        if text is None:
            for i in idx:
                out[i] = self._line(batch[i])
            return
        bad = set(misfits)
        fits = [i for k, i in enumerate(idx) if k not in bad]
        for i, line in zip(fits, text.splitlines(keepends=True), strict=True):
            out[i] = line
        if misfits:
            self._fill(batch, [idx[k] for k in misfits], dtypes, out, depth + 1)

    def _run_text(self, items: list[tuple], dtypes: Any) -> tuple[bytes | None, list[int]]:
        """The lines of a run of stackable requests (one model version, protocol and input dtypes) as one
        text, and the positions of those left out because their answer's structure differs from the first's;
        (None, []) when the run cannot be written together."""
        first = items[0]
        mv, result = first[3], first[5]
        okey = tuple((k, type(v), getattr(v, "dtype", None), getattr(v, "shape", None)) for k, v in result.items())
        lkey = (id(mv), first[2], dtypes, okey)
        lp = self._lines.get(lkey)
        if lp is None or lp.mv is not mv:
            if len(self._lines) >= 64:
                self._lines.clear()
            lp = self._lines[lkey] = _LinePlan(mv, first[2], self._plan(mv), dtypes, result, self.rate,
                                               self._redact, self._drop)
        if not lp.ok:
            return None, []
        misfits = lp.misfits(items)
        if misfits:
            bad = set(misfits)
            items = [it for k, it in enumerate(items) if k not in bad]
        return lp.text(items, self), misfits

    def _line(self, item: tuple) -> bytes:
        return dumps(self.record(*item[:-1]), LINE)

    def time_texts(self, seconds: np.ndarray) -> list[str]:
        """``2026-12-06T04:30:00`` for each whole second (one ``strftime`` a second, kept in ``_clock``)."""
        first = int(seconds[0])
        if (seconds == first).all():  # a batch mostly falls within one second
            clock = self._clock
            if first != clock[0]:
                clock = self._clock = (first, _second_text(first))
            return [clock[1]] * len(seconds)
        listed = seconds.tolist()
        texts = {s: _second_text(s) for s in set(listed)}
        return [texts[s] for s in listed]

    def record(self, ts: float, rid: str, protocol: str, mv: Any, arrays: dict[str, np.ndarray],
               result: dict[str, Any]) -> dict[str, Any]:
        """The record of one request (the format is documented in ``runtime/README.md``)."""
        rows = _rows(arrays)
        return self._record(ts, rid, protocol, mv, rows, self._plan(mv).named(arrays, rows),
                            named_outputs(mv.answers, result))

    def _plan(self, mv: Any) -> _InputPlan:
        plan = self._plans.get(id(mv.signature))
        if plan is None or plan.signature is not mv.signature:  # one plan per served signature
            plan = self._plans[id(mv.signature)] = _InputPlan(mv.signature, self._redact, self._drop)
        return plan

    def _record(self, ts: float, rid: str, protocol: str, mv: Any, rows: int, inputs: Any,
                outputs: dict[str, Any]) -> dict[str, Any]:
        if self._redact or self._drop:
            outputs = self._filter(outputs, rows)
            if isinstance(inputs, dict):
                inputs = self._filter(inputs, rows)
        return {"id": rid, "time": self._stamp(ts),
                "model": mv.name, "version": str(mv.version), "protocol": protocol, "rows": rows,
                "sample_rate": self.rate, "inputs": inputs, "outputs": outputs}

    def _stamp(self, ts: float) -> str:
        """A record's time: ``2026-12-06T04:30:00.123456Z`` (the text up to the second made once a second)."""
        second = int(ts)
        clock = self._clock
        if second != clock[0]:
            clock = self._clock = (second, _second_text(second))
        return f"{clock[1]}.{int((ts - second) * 1e6):06d}Z"

    def _filter(self, fields: dict[str, Any], rows: int) -> dict[str, Any]:
        return {k: ([REDACTED] * rows if k in self._redact else v) for k, v in fields.items() if k not in self._drop}

    # -- feedback records: the true labels the feedback API accepted (runtime/feedback.py) ------------------

    def feedback(self, model: str, mv: Any, key: str, items: list[tuple[str, list[Any], str]]) -> None:
        """Queue the records of one accepted feedback call, one per item ``(request id, its labels or values, one
        per row, outcome)``: ``{"id", "time", "kind": "feedback", "model", "outcome", "rows", key}`` with ``key``
        ``"label"`` (class names) or ``"value"`` (numbers). Called on the event loop's thread, like
        :meth:`submit`. Not sampled: labels are rare and each is worth keeping. The lines are made here (~3 µs a
        record) and handed to the writer as a built payload: they count against ``queue_size`` and
        ``max_queue_bytes`` like any record, and what does not fit is dropped and counted (``queue_full``).

        The truth is as sensitive as the prediction it is the truth of: when the output that states the
        prediction (a classifier's label output, else its probabilities; a regression model's outputs) is in
        ``drop``, the record leaves ``key`` out; in ``redact``, it is ``"[redacted]"`` per row."""
        if not items:
            return
        answers = mv.answers
        states: set[Any]
        if answers is not None and answers.class_names is not None:
            states = {answers.label or answers.proba}
        else:
            states = {t.name for t in mv.signature.outputs}
        hidden = "drop" if states & self._drop else "redact" if states & self._redact else None
        stamp = self._stamp(time.time())
        room = self._max_records - self.queued
        space = self._max_bytes - (self._bytes_in - self._bytes_out)
        lines: list[bytes] = []
        size = 0
        try:
            for rid, values, outcome in items:
                if len(lines) >= room or size >= space:  # full, as submit sees it: the rest is dropped
                    break
                rec: dict[str, Any] = {"id": rid, "time": stamp, "kind": "feedback", "model": model,
                                       "outcome": outcome, "rows": len(values)}
                if hidden is None:
                    rec[key] = values
                elif hidden == "redact":
                    rec[key] = [REDACTED] * len(values)
                line = dumps(rec, LINE)
                lines.append(line)
                size += len(line)
        except Exception as exc:  # noqa: BLE001 - a record that cannot be made never fails the feedback call
            self._drop_count("sink_error", len(items), exc)
            return
        if len(lines) < len(items):
            self._drop_count("queue_full", len(items) - len(lines))
        if lines:
            self._bytes_in += size
            self._built_in += len(lines)
            self._built.append((lines, len(lines), size, False))
            self._nudge()

    # -- lifecycle -----------------------------------------------------------------------------------------

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (for at most ``timeout`` seconds), then close the sink."""
        self._stop = True
        self._wake.set()
        self._thread.join(timeout)
        try:
            self.sink.close()
        except Exception:  # noqa: BLE001
            log.exception("closing the capture sink failed")

    @property
    def queued(self) -> int:
        """Records waiting: queued requests and built records not yet written."""
        return len(self._queue) + self._built_in - self._built_out


def _second_text(second: int) -> str:
    """A record's date and time up to the second (UTC): ``2026-12-06T04:30:00``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


def _rows(arrays: dict[str, np.ndarray]) -> int:
    for a in arrays.values():
        return int(a.shape[0]) if a.ndim else 1
    return 0


class _InputPlan:
    """How one signature's inputs become the record's ``inputs`` object: per model input, the features it
    carries (their JSON keys, index — None: the input is that one column — and whether redacted); dropped
    features are left out here."""

    def __init__(self, signature: Any, redact: frozenset[str], drop: frozenset[str]):
        self.signature = signature
        groups: dict[str, list] = {}
        for f in signature.features or ():
            groups.setdefault(f.input, []).append(f)
        self.groups = []
        for name, feats in groups.items():
            # every column, in order, none redacted or dropped: the keys zip with the columns at once
            plain = [f.index for f in feats] == list(range(len(feats))) and not {f.name for f in feats} & (
                redact | drop)
            items = tuple((orjson.dumps(f.name) + b":", f.index, f.name in redact) for f in feats
                          if f.name not in drop)
            # the plain case's text: its keys with a %b slot each, filled by one bytes formatting
            template = b",".join(k.replace(b"%", b"%%") + b"[%b]" for k, _, _ in items) if plain else None
            self.groups.append((name, items, template, len(items)))
        self.stack = bool(self.groups) and all(g[2] is not None for g in self.groups)
        # one model input carrying every feature (the common case): its name and size, for a shorter check
        self.single = (self.groups[0][0], self.groups[0][3]) if self.stack and len(self.groups) == 1 else None

    def stackable(self, arrays: dict[str, np.ndarray]) -> Any:
        """For a one-row request whose inputs all take the plain path, the key of the requests it can be
        written with (the inputs' dtypes: stacking must not change a number's text); else None."""
        single = self.single
        if single is not None and len(arrays) == 1:
            arr = arrays.get(single[0])
            if arr is None or arr.size != single[1] or arr.dtype == object or arr.shape[:1] != (1,):
                return None
            return arr.dtype
        if not self.stack or _rows(arrays) != 1:
            return None
        key = []
        for name, _, _, n in self.groups:
            arr = arrays.get(name)
            if arr is None or arr.size != n or arr.dtype == object or arr.shape[:1] != (1,):
                return None
            key.append(arr.dtype)
        return key[0] if len(key) == 1 else tuple(key)

    def uniform(self, batch: list[tuple]) -> Any:
        """For a batch of one-input requests of this plan's model version and one protocol, each one row of the
        same shape and dtype that :meth:`stackable` takes: their key (the whole batch is one run); else None.
        One pass of a few comparisons a request, for the common case."""
        first = batch[0]
        if self.single is None or (key := self.stackable(first[4])) is None:
            return None
        mv, protocol, name = first[3], first[2], self.single[0]
        arr = first[4][name]
        shape, dtype = arr.shape, arr.dtype
        for item in batch:
            arrays = item[4]
            if item[3] is not mv or item[2] != protocol or len(arrays) != 1:
                return None
            arr = arrays.get(name)
            if type(arr) is not np.ndarray or arr.shape != shape or arr.dtype != dtype:
                return None
        return key

    def named(self, arrays: dict[str, np.ndarray], rows: int) -> Any:
        """The ``inputs`` object: a JSON fragment of one list per feature, keyed by feature name; without
        ``features`` in the signature, the model's input arrays by input name (a dict).

        A numeric input is written once by orjson, transposed (one JSON list per feature), and cut into its
        columns: orjson's shortest float32 text, and no Python object per value or per feature."""
        if not self.groups:
            return dict(arrays)
        parts: list[bytes] = []
        redacted = b""
        for name, items, template, n in self.groups:
            arr = arrays.get(name)
            if arr is None:
                continue
            if template is not None and arr.size and arr.dtype != object:
                cols = _columns(arr)
                if len(cols) == n:
                    parts.append(template % tuple(cols))
                    continue
            if any(r for _, _, r in items) and not redacted:
                redacted = orjson.dumps([REDACTED] * rows)
            cols = _columns(arr) if arr.size and arr.dtype != object else []
            flat = arr.reshape(rows, -1) if arr.dtype == object and arr.size else None
            for key, index, redact in items:
                if redact:
                    value = redacted
                elif not arr.size:
                    value = b"[]"
                elif flat is not None:
                    value = dumps((flat.reshape(-1) if index is None else flat[:, index]).tolist())
                elif index is None:
                    value = orjson.dumps(np.ascontiguousarray(arr.reshape(-1)), option=_NUMPY)
                else:
                    value = b"[" + cols[index] + b"]" if index < len(cols) else b"[]"
                parts.append(key + value)
        return orjson.Fragment(b"{" + b",".join(parts) + b"}")


def _columns(arr: np.ndarray) -> list[bytes]:
    """The JSON text inside each column's list of a numeric ``[rows, ..., n]`` array (``17.99,20.57``): the
    (transposed) array written once by orjson and cut at the separators (numbers hold no brackets or commas
    inside); [] without rows. One row, the common case, needs no transpose."""
    if arr.ndim == 0 or arr.shape[0] == 0:
        return []
    if arr.shape[0] == 1:
        return orjson.dumps(np.ascontiguousarray(arr.reshape(-1)), option=_NUMPY)[1:-1].split(b",")
    text = orjson.dumps(np.ascontiguousarray(arr.reshape(arr.shape[0], -1).T), option=_NUMPY)
    return text[2:-2].split(b"],[")


def named_outputs(answers: Any, result: dict[str, Any]) -> dict[str, Any]:
    """Outputs as answered (class names for labels); probabilities as one column per class name (``answers``:
    the model's :class:`~mlready.runtime.answers.Answers`, or None). The batch scorer's capture uses it too."""
    proba = answers.proba if answers is not None else None
    out: dict[str, Any] = {}
    for name, value in result.items():
        if isinstance(value, np.ndarray):
            if name == proba and value.ndim == 2 and value.shape[1] == len(answers.class_names):
                cols = _columns(value)
                out[name] = orjson.Fragment(answers.proba_template % tuple(cols)) if cols else dict.fromkeys(
                    answers.class_names, [])
                continue
            if value.dtype == object:
                value = value.tolist()
            elif not value.flags.c_contiguous:
                value = np.ascontiguousarray(value)
        out[name] = value
    return out


#: the dtypes whose values a line plan writes with orjson in one call for a run (others: record by record)
_NUMERIC = frozenset(np.dtype(t) for t in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                                            "uint64", "float32", "float64"))
_US = "{:06d}".format


class _LinePlan:
    """The JSON line of a one-row request of one model version, protocol and answer structure, as fixed text
    with slots (``lits``: text pieces, None for a slot) for the request id, the time, each input value and each
    output value. :meth:`text` writes a whole run of such requests: the run's values of one input (or output)
    written by one orjson call and cut at the commas, every slot of the run filled by one slice assignment,
    the lines joined once. ``ok`` is False when the answer has something the plan does not write (non-numeric
    inputs, outputs other than numeric arrays of one row and one-row text labels): the run is written record
    by record."""

    def __init__(self, mv: Any, protocol: str, plan: _InputPlan, dtypes: Any, result: dict[str, Any],
                 rate: float, redact: frozenset[str], drop: frozenset[str]):
        self.mv = mv
        self.ok = plan.stack and all(d in _NUMERIC for d in (dtypes if isinstance(dtypes, tuple) else (dtypes,)))
        segs: list[str | None] = ['{"id":"', None, '","time":"', None, ".", None, 'Z","model":' + _json(mv.name)
                                  + ',"version":' + _json(str(mv.version)) + ',"protocol":' + _json(protocol)
                                  + ',"rows":1,"sample_rate":' + _json(rate) + ',"inputs":{']
        self.inputs: list[tuple[str, int]] = []  # (input name, values a row), in slot order
        sep = ""
        for name, items, _, n in plan.groups:
            self.inputs.append((name, n))
            for key, _, _ in items:
                segs += [sep + key.decode() + "[", None, "]"]
                sep = ","
        segs.append('},"outputs":{')
        # (output name, kind, dtype, shape, values a row): "num" a numeric array, "str" a one-row text label,
        # "fixed" redacted (its text is literal)
        self.outputs: list[tuple[str, str, Any, Any, int]] = []
        self.names = tuple(result)
        proba = mv.answers.proba if mv.answers is not None else None
        sep = ""
        for name, value in result.items():
            if name in drop:
                continue
            key = sep + _json(name) + ":"
            sep = ","
            if name in redact:
                segs.append(key + _json([REDACTED]))
                self.outputs.append((name, "fixed", None, None, 0))
                continue
            if not isinstance(value, np.ndarray) or value.shape[:1] != (1,) or value.ndim > 2:
                self.ok = False
                break
            if value.dtype == object:
                if value.shape != (1,) or type(value[0]) is not str:
                    self.ok = False
                    break
                segs += [key + "[", None, "]"]
                self.outputs.append((name, "str", value.dtype, value.shape, 1))
                continue
            k = value.size
            if value.dtype not in _NUMERIC or not k:
                self.ok = False
                break
            if value.ndim == 1:
                segs += [key + "[", None, "]"]
            elif name == proba and k == len(mv.answers.class_names):  # one column per class name
                segs.append(key + "{")
                for j, cls in enumerate(mv.answers.class_names):
                    segs += [("," if j else "") + _json(str(cls)) + ":[", None, "]"]
                segs.append("}")
            else:
                segs.append(key + "[[")
                for j in range(k):
                    segs += ["," if j else "", None]
                segs.append("]]")
            self.outputs.append((name, "num", value.dtype, value.shape, k))
        segs.append("}}\n")
        self.lits: list[str | None] = []  # adjacent text pieces merged: one piece between two slots
        for seg in segs:
            if seg is not None and self.lits and self.lits[-1] is not None:
                self.lits[-1] += seg
            else:
                self.lits.append(seg)
        self.slots = [i for i, seg in enumerate(self.lits) if seg is None]
        # (name, shape, dtype, is a text label) of each output whose values are written: what every answer of
        # a run must have
        self.checks = [(name, shape, dtype, kind == "str") for name, kind, dtype, shape, _ in self.outputs
                       if kind != "fixed"]
        self.labels: dict[str, str] = {}  # a label's JSON text, by label

    def misfits(self, items: list[tuple]) -> list[int]:
        """The positions of the requests whose answer differs from the plan's structure (usually none)."""
        fits = self.fits
        return [k for k, item in enumerate(items) if not fits(item[5])]

    def fits(self, result: dict[str, Any]) -> bool:
        """The answer has the plan's outputs, in its order, each of its shape and dtype (a label: a text)."""
        if tuple(result) != self.names:
            return False
        for name, shape, dtype, text in self.checks:
            arr = result[name]
            if type(arr) is not np.ndarray or arr.shape != shape or arr.dtype != dtype or (
                    text and type(arr[0]) is not str):
                return False
        return True

    def text(self, items: list[tuple], cap: Capture) -> bytes:
        """The lines of ``items`` (requests that fit the plan), in their order, as one text."""
        n = len(items)
        lits, slots = self.lits, self.slots
        width = len(lits)
        out = lits * n
        ts = np.fromiter([it[0] for it in items], np.float64, n)
        seconds = ts.astype(np.int64)
        rids = [it[1] for it in items]
        joined = "".join(rids)
        if '"' in joined or "\\" in joined or not joined.isprintable():  # ids to escape: orjson's text
            rids = [_json(r)[1:-1] for r in rids]
        out[slots[0]::width] = rids
        out[slots[1]::width] = cap.time_texts(seconds)
        out[slots[2]::width] = list(map(_US, ((ts - seconds) * 1e6).astype(np.int64).tolist()))
        s = 3
        for name, size in self.inputs:
            arrs = [it[4][name] for it in items]
            s = _scatter(out, s, slots, width, _stack(arrs, size), size)
        for name, kind, _, _, size in self.outputs:
            if kind == "fixed":
                continue
            arrs = [it[5][name] for it in items]
            if kind == "str":
                labels = self.labels
                if len(labels) > 1024:
                    labels.clear()
                values = [a[0] for a in arrs]
                out[slots[s]::width] = [labels.get(v) or labels.setdefault(v, _json(v)) for v in values]
                s += 1
            else:
                s = _scatter(out, s, slots, width, _stack(arrs, size), size)
        return "".join(out).encode()


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _stack(arrs: list[np.ndarray], size: int) -> np.ndarray:
    """One-row arrays of one dtype as one ``[rows, size]`` array."""
    try:
        stacked = np.concatenate(arrs)
    except ValueError:  # rows of different shapes and one size
        stacked = None
    if stacked is None or stacked.shape != (len(arrs), size):
        stacked = np.concatenate([a.reshape(1, size) for a in arrs])
    return stacked


def _scatter(out: list[Any], s: int, slots: list[int], width: int, stacked: np.ndarray, size: int) -> int:
    """Write ``stacked``'s values (orjson's text, one call) into the ``size`` slots from slot ``s`` of every
    line; returns the next slot."""
    text = orjson.dumps(stacked, option=_NUMPY).decode()
    values = text[2:-2].replace("],[", ",").split(",")
    for j in range(size):
        out[slots[s + j]::width] = values[j::size]
    return s + size
