"""Feedback: true labels that arrive late, joined with the predictions the server answered (issue 16 §3).

Every answered request (REST and gRPC, under the id returned to the client as ``X-Request-Id``) leaves its
predicted rows in a :class:`FeedbackStore`: a dict in insertion order, bounded by ``feedback.max_rows`` rows and
``feedback.max_age_s`` seconds (the oldest entries go first; remembering costs a dict insert and holds a reference
to the answered array, no copy). ``POST /v2/models/<name>/feedback`` with::

    {"feedback": [{"id": "<request id>", "label": "setosa"},            # a classifier: the true class
                  {"id": "<request id of 3 rows>", "label": ["a", "b", "a"]},
                  {"id": "<request id>", "value": 3.25}]}               # a regression model: the true value

joins each label with the prediction and counts it (``metrics.METRICS_FEEDBACK``: confusion counts per class,
error sums, labelled rows), from which PromQL computes accuracy, precision, recall, F1, MAE and RMSE over any
window. A label for a prediction evicted from the store (by age or size: ``expired``), for an id never seen or
another model's (``unknown``), and a second label for the same id (``duplicate``) are counted by outcome, not
errors. A malformed item (wrong type, a class the model
does not have, a value that is not a finite number within float32's range, :data:`MAX_VALUE`, a row count that
does not match the request) is a 400 naming ``feedback[i].<field>``, and nothing of that POST is counted. A
regression row whose prediction was not such a number (a NaN input can answer NaN) is joined but left out of the
rows and error sums: one client cannot make them NaN or inf for good.

With capture on, every item of an accepted call (whatever its outcome) is also written to the capture sink as a
feedback record (:meth:`mlready.runtime.capture.Capture.feedback`): the labels as this store resolved them, so
``mlready monitor`` and the retrain pipeline join them with the captured predictions offline, across replicas.
A call refused with a 400 writes nothing.

gRPC: the Open Inference Protocol's gRPC service has no feedback call; ``mlready.v1.Feedback/Send``
(``proto/feedback.proto``, :mod:`mlready.runtime.grpc_feedback`) beside it on the same port carries the same items
into :meth:`FeedbackStore.send`, so both protocols share these checks, outcomes and error texts.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import numpy as np
import orjson
from mlready.runtime.config import FeedbackConfig
from mlready.runtime.errors import BadRequest
from mlready.runtime.metrics import (
    FEEDBACK_ABS_ERROR,
    FEEDBACK_CONFUSION_TOTAL,
    FEEDBACK_CORRECT_TOTAL,
    FEEDBACK_IDS_TOTAL,
    FEEDBACK_OUTCOMES,
    FEEDBACK_POSITIVE_CLASS,
    FEEDBACK_ROWS_TOTAL,
    FEEDBACK_SQUARED_ERROR,
    METRICS_FEEDBACK,
)

PAIRS_UPFRONT = 32  # classes whose confusion pairs are exported at 0 before any label (32² = 1024 series)
# The largest true value, and predicted value scored, in magnitude: float32's. Beyond it a squared error could
# overflow float64 to inf; within it a row adds at most ~4.6e77, so no count of rows ever makes a sum overflow.
MAX_VALUE = float(np.finfo(np.float32).max)


class _Prediction:
    __slots__ = ("time", "model", "version", "kind", "values", "rows", "labelled")

    def __init__(self, t: float, model: str, version: str, kind: str, values: np.ndarray):
        self.time, self.model, self.version, self.kind, self.values = t, model, version, kind, values
        self.rows = int(values.shape[0])
        self.labelled = False  # a second label for it is a duplicate, counted and not joined


def predicted(mv: Any, result: dict[str, Any]) -> tuple[str, np.ndarray] | None:
    """("class", class names per row) or ("value", one number per row) from an answer; None when the answer
    says neither (an unlabelled model, or outputs the client left out)."""
    sig, answers = mv.signature, mv.answers
    if answers is not None and answers.class_names is not None:
        label = result.get(answers.label) if answers.label else None
        if isinstance(label, np.ndarray) and label.ndim == 1:
            return "class", label
        proba = result.get(answers.proba) if answers.proba else None
        if isinstance(proba, np.ndarray) and proba.ndim == 2 and proba.shape[1] == len(answers.class_names):
            return "class", np.asarray(answers.class_names, dtype=object)[proba.argmax(axis=1)]
        return None
    if sig.task == "regression":
        for t in sig.outputs:
            value = result.get(t.name)
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                return "value", value.reshape(value.shape[0], -1)[:, 0] if value.ndim else value.reshape(1)
    return None


class FeedbackStore:
    """Recent predictions by request id (bounded) and the counters labels are joined into."""

    def __init__(self, conf: FeedbackConfig, metrics: Any, clock: Any = time.monotonic, capture: Any = None):
        self.conf = conf
        self.clock = clock
        self.capture = capture  # the server's Capture (or None): every accepted item is a feedback record there
        self._held: dict[str, _Prediction] = {}  # insertion order = age order
        self._rows = 0
        self._lock = threading.Lock()
        self._m = metrics.register(METRICS_FEEDBACK)
        self._seen: set[tuple[str, str]] = set()  # (model, version) whose series exist
        self._gone: dict[str, str] = {}  # id -> model of predictions evicted unlabelled (by age or by size)

    # -- the request's side ----------------------------------------------------------------------------------

    def remember(self, rid: str, mv: Any, result: dict[str, Any]) -> None:
        if not rid:
            return
        got = predicted(mv, result)
        if got is None or got[1].shape[0] == 0:
            return
        entry = _Prediction(self.clock(), mv.name, str(mv.version), got[0], got[1])
        if (mv.name, entry.version) not in self._seen:
            self._first_seen(mv, entry.version)
        with self._lock:
            old = self._held.pop(rid, None)  # a client reusing an id: the newest answer is the one labelled
            if old is not None:
                self._rows -= old.rows
            self._held[rid] = entry
            self._rows += entry.rows
            self._evict()

    def _first_seen(self, mv: Any, version: str) -> None:
        """Create a version's series at 0 before any label arrives: Prometheus' ``increase()`` counts from a
        series' first sample, so a counter born at its first label would lose that label from every window. All
        (actual, predicted) pairs are created for up to :data:`PAIRS_UPFRONT` classes; beyond, a pair's series
        starts at its first row. A binary classifier's positive class (``classes[1]``, as the build scores
        precision, recall and f1) is exported."""
        self._seen.add((mv.name, version))
        m, model = self._m, mv.name
        m[FEEDBACK_ROWS_TOTAL].labels(model, version).inc(0)
        for outcome in FEEDBACK_OUTCOMES:
            m[FEEDBACK_IDS_TOTAL].labels(model, outcome).inc(0)
        names = mv.answers.class_names if mv.answers is not None else None
        if names is None:
            m[FEEDBACK_ABS_ERROR].labels(model, version).inc(0)
            m[FEEDBACK_SQUARED_ERROR].labels(model, version).inc(0)
            return
        if len(names) == 2:
            m[FEEDBACK_POSITIVE_CLASS].labels(model, names[1]).set(1)
        if len(names) <= PAIRS_UPFRONT:
            for actual in names:
                m[FEEDBACK_CORRECT_TOTAL].labels(model, version, actual).inc(0)
                for pred in names:
                    m[FEEDBACK_CONFUSION_TOTAL].labels(model, version, actual, pred).inc(0)

    def _evict(self) -> None:
        oldest = self.clock() - self.conf.max_age_s
        held = self._held
        while held:
            rid = next(iter(held))
            first = held[rid]
            if self._rows <= self.conf.max_rows and first.time >= oldest:
                break
            del held[rid]
            self._rows -= first.rows
            if not first.labelled:  # its label may still come: counted as expired, not unknown
                self._gone[rid] = first.model
        while len(self._gone) > self.conf.max_rows:  # ids only, as many as predicted rows held at most
            del self._gone[next(iter(self._gone))]

    @property
    def rows(self) -> int:
        return self._rows

    # -- the feedback route ------------------------------------------------------------------------------------

    def post(self, model: str, mv: Any, body: bytes) -> dict[str, int]:
        """A REST feedback body (JSON): checked, joined and counted by :meth:`send`."""
        return self.send(model, mv, _feedback_list(body))

    def send(self, model: str, mv: Any, feedback: list[Any]) -> dict[str, int]:
        """Check every item (``{"id": ..., "label" | "value": ...}``), then join and count them; the outcome
        counts. A bad item raises :class:`BadRequest` naming ``feedback[i].<field>`` before anything is counted."""
        items = _items(feedback, self.conf.max_items, self.conf.max_rows)
        sig = mv.signature
        if mv.answers is not None and mv.answers.class_names is not None:
            kind, key = "class", "label"
            lookup = _class_lookup(sig.classes or (), mv.answers.class_names)
        elif sig.task == "regression":
            kind, key, lookup = "value", "value", {}
        else:
            raise BadRequest(f"model {model!r} has no classes and is not a regression model: "
                             "its predictions cannot be scored")
        checked = [(i, rid, _truth(i, item, kind, key, lookup)) for i, (rid, item) in enumerate(items)]
        outcome = dict.fromkeys(FEEDBACK_OUTCOMES, 0)
        done: list[tuple[str, list[Any], str]] = []  # (id, truth, outcome) per item: the capture's records
        with self._lock:
            self._evict()
            joins, seen = [], set()
            for i, rid, truth in checked:
                p = self._held.get(rid)
                if p is None and self._gone.get(rid) == model:
                    said = "expired"
                elif p is None or p.model != model or p.kind != kind:
                    said = "unknown"
                elif p.labelled or rid in seen:
                    said = "duplicate"
                else:
                    if len(truth) != p.rows:
                        raise BadRequest(f"feedback[{i}].{key}: request {rid!r} answered {p.rows} rows, "
                                         f"got {len(truth)} {key}s")
                    joins.append((rid, p, truth))
                    seen.add(rid)
                    said = "joined"
                outcome[said] += 1
                done.append((rid, truth, said))
            for _rid, p, truth in joins:
                p.labelled = True
                self._count(p, truth)
        ids = self._m[FEEDBACK_IDS_TOTAL]
        for name, n in outcome.items():
            if n:
                ids.labels(model, name).inc(n)
        if self.capture is not None:  # built and queued for the capture's writer: the sink is never waited for
            self.capture.feedback(model, mv, key, done)
        return outcome

    def _count(self, p: _Prediction, truth: list[Any]) -> None:
        if p.kind == "value":
            self._count_values(p, truth)
            return
        m = self._m
        m[FEEDBACK_ROWS_TOTAL].labels(p.model, p.version).inc(len(truth))
        pairs: dict[tuple[str, str], int] = {}
        for actual, pred in zip(truth, p.values.tolist(), strict=True):
            pairs[(actual, str(pred))] = pairs.get((actual, str(pred)), 0) + 1
        for (actual, pred), n in pairs.items():
            m[FEEDBACK_CONFUSION_TOTAL].labels(p.model, p.version, actual, pred).inc(n)
            if actual == pred:
                m[FEEDBACK_CORRECT_TOTAL].labels(p.model, p.version, actual).inc(n)
        for actual, _pred in pairs:  # every true class seen has a series, so a class never right reads 0
            m[FEEDBACK_CORRECT_TOTAL].labels(p.model, p.version, actual).inc(0)

    def _count_values(self, p: _Prediction, truth: list[Any]) -> None:
        """A regression label's rows and errors. A row whose prediction is not a number within
        :data:`MAX_VALUE` (NaN or inf: a NaN input can answer one) cannot be scored: it is left out of the rows
        and of the error sums, which would otherwise stay NaN or inf for good. The check is made here, when a
        label comes, not on the request's path."""
        m = self._m
        pred = p.values.astype(np.float64)
        usable = np.abs(pred) <= MAX_VALUE  # False for NaN too
        err = np.asarray(truth, dtype=np.float64) - pred
        if not usable.all():
            err = err[usable]
        m[FEEDBACK_ROWS_TOTAL].labels(p.model, p.version).inc(len(err))
        m[FEEDBACK_ABS_ERROR].labels(p.model, p.version).inc(float(np.abs(err).sum()))
        m[FEEDBACK_SQUARED_ERROR].labels(p.model, p.version).inc(float((err * err).sum()))


def _feedback_list(body: bytes) -> list[Any]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("feedback"), list):
        raise BadRequest('feedback: expected {"feedback": [{"id": ..., "label": ...}, ...]}')
    unknown = sorted(set(doc) - {"feedback"})
    if unknown:
        raise BadRequest(f"{unknown[0]}: unknown field (expected only 'feedback')")
    return doc["feedback"]


def _items(items: list[Any], limit: int, max_rows: int) -> list[tuple[str, dict]]:
    """``(id, item)`` per item, ids checked; at most ``limit`` items and ``max_rows`` labels/values in all (no
    more predicted rows than that are ever held, and checking each value is what a large body would cost)."""
    if len(items) > limit:
        raise BadRequest(f"feedback: at most {limit} items per request (feedback.max_items), got {len(items)}")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise BadRequest(f"feedback[{i}]: expected an object with 'id' and 'label' (or 'value')")
        rid = item.get("id")
        if not isinstance(rid, str) or not rid or len(rid) > 128:
            raise BadRequest(f"feedback[{i}].id: expected the request id (a string of 1..128 characters)")
        out.append((rid, item))
    values = sum(len(v) if isinstance(v, list) else 1 for _, item in out for k, v in item.items() if k != "id")
    if values > max_rows:
        raise BadRequest(f"feedback: {values} labels/values in one request, more than the {max_rows} predicted rows "
                         "the store holds (feedback.max_rows)")
    return out


def _class_lookup(classes: tuple[Any, ...], names: tuple[str, ...]) -> dict[Any, str]:
    """What a caller may send for a class -> its name: the name itself, or the model's raw class (e.g. 0/1, or
    its text "0"/"1": gRPC labels are strings); a name wins over another class's raw text."""
    lookup: dict[Any, str] = {}
    for raw, name in zip(classes, names, strict=False):
        if not isinstance(raw, bool):
            lookup[raw] = name
            lookup.setdefault(str(raw), name)
    lookup.update({n: n for n in names})
    return lookup


def _truth(i: int, item: dict, kind: str, key: str, lookup: dict[Any, str]) -> list[Any]:
    other = "value" if key == "label" else "label"
    if key not in item:
        why = (f" (model is a {'classifier' if kind == 'class' else 'regression model'}: send '{key}')"
               if other in item else "")
        raise BadRequest(f"feedback[{i}].{key}: missing{why}")
    extra = sorted(set(item) - {"id", key})
    if extra:
        raise BadRequest(f"feedback[{i}].{extra[0]}: unknown field (expected 'id' and '{key}')")
    raw = item[key]
    values = raw if isinstance(raw, list) else [raw]
    if not values:
        raise BadRequest(f"feedback[{i}].{key}: expected a {key} or a list of one per row, got []")
    out: list[Any] = []
    for j, v in enumerate(values):
        where = f"feedback[{i}].{key}" + (f"[{j}]" if isinstance(raw, list) else "")
        if kind == "class":
            name = lookup.get(v) if isinstance(v, str | int) and not isinstance(v, bool) else None
            if name is None:
                shown = ", ".join(list(dict.fromkeys(lookup.values()))[:20])
                raise BadRequest(f"{where}: {orjson.dumps(v).decode()[:80]} is not one of the model's classes "
                                 f"({shown})")
            out.append(name)
        else:
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                shown = repr(v) if isinstance(v, float) else orjson.dumps(v).decode()[:80]  # nan, inf (gRPC)
                raise BadRequest(f"{where}: expected a finite number, got {shown}")
            if not -MAX_VALUE <= v <= MAX_VALUE:
                raise BadRequest(f"{where}: expected a number within ±{MAX_VALUE:.7g} (float32's range), got "
                                 f"{repr(v)[:80]}")
            out.append(float(v))
    return out
