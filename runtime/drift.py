"""Live drift counting: rows per (feature, bin) and per predicted class / output bin, against the training
reference the build baked into the runtime config (``models.<name>.drift``, :class:`DriftConfig`).

One :class:`DriftCounter` per model. A batch (``ModelVersion._run``) costs the request path a list append under a
lock: batches wait, by reference, until ``FLUSH_ROWS`` rows (or ``FLUSH_BYTES``) or the next scrape, and are
then binned together with a few numpy calls for all of them: the quantile-binned features of one input by one
broadcast ``>=`` of all their values against all their edges (:class:`_EdgeGroup`), the others by
``searchsorted`` in their sorted values or categories. Nothing per value in Python, and a numpy call's fixed
cost is paid per thousands of rows, not per request (binning each 1-row batch on its own cost ~15% of a small
model's throughput). The counts and the reference shares become Prometheus samples at scrape time
(:class:`DriftCollector`), every bin always present (a zero is a share PromQL needs), so the label cardinality
is the reference's bins.

Missing values (NaN in a numeric column) are not counted, as the readiness PSI leaves them out. With
``workers > 1`` (prometheus_client's multiprocess mode) a scrape reads the metric files the workers write, not a
worker's collectors: each worker's :class:`SharedDriftExport` thread bins what waits and adds the new counts to a
multiprocess counter every ``PUBLISH_S`` seconds, so the exported series are the sum over the workers, at most
that much behind.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import numpy as np
from mlready.runtime.answers import LABEL_OUTPUTS
from mlready.runtime.config import DriftConfig, DriftFeatureConfig
from mlready.runtime.metrics import (
    DRIFT_REFERENCE_SHARE,
    DRIFT_ROWS_TOTAL,
    LABEL_BIN,
    LABEL_FEATURE,
    LABEL_MODEL,
    METRICS_DRIFT,
    PREDICTION_FEATURE,
)

log = logging.getLogger("mlready.runtime.drift")

OTHER = "__other__"
PUBLISH_S = 1.0  # workers > 1: how often each worker adds its new counts to the shared metric files
FLUSH_ROWS = 4096  # batches wait (by reference) until this many rows, or a scrape, and are binned together
FLUSH_BYTES = 4 * 1024 * 1024  # ... or this many bytes of kept arrays (inputs, the prediction's output)
CHUNK_BYTES = 4 * 1024 * 1024  # the largest boolean (features x edges x rows) table one binning pass compares


def bin_labels(f: DriftFeatureConfig) -> list[str]:
    """The ``bin`` label of each bin: ``00``.. for quantile bins, the value or category, then ``__other__``."""
    if f.edges:
        width = len(str(len(f.edges)))
        return [f"{i:0{width}d}" for i in range(len(f.edges) + 1)]
    named = [f"{v:g}" for v in f.values] if f.values else list(f.categories)
    return [*named, OTHER]


def _ceil_float32(edges: np.ndarray) -> np.ndarray:
    """Each float64 edge as the smallest float32 at or above it (NaN stays NaN): for a float32 value ``v``,
    ``v >= e`` exactly when ``v >= _ceil_float32(e)``, so float32 columns are binned exactly as numpy bins their
    float64 casts, without the cast."""
    with np.errstate(over="ignore"):  # beyond float32's range: +-inf, then nextafter(-inf) = -max
        up = edges.astype(np.float32)
    low = up.astype(np.float64) < edges
    up[low] = np.nextafter(up[low], np.float32(np.inf))
    return up


class _EdgeGroup:
    """Quantile-binned numeric features read from one input, counted together with one broadcast comparison of
    all their values against all their edges: a row is in bin ``b`` of a feature when it is ``>=`` the feature's
    edges ``0..b-1`` and not ``>=`` edge ``b`` (numpy's ``searchsorted(edges, x, side="right")``, as the
    readiness PSI bins), so a bin's rows are the difference of two ``>=`` counts. Missing values (NaN) are
    ``>=`` nothing and counted nowhere.

    Why not ``searchsorted``: one call per feature over the pending rows cost ~0.7 us per row on the quickstart's
    30 features (a binary search per value, branch mispredictions on real rows); the comparison is SIMD work
    over a (features x steps x rows) boolean table, ~0.05 us per row (``benchmarks/bench_serving.py --drift``,
    runtime/README.md)."""

    def __init__(self, input_name: str, feats: list[tuple[DriftFeatureConfig, int]]):
        self.input = input_name
        columns = [f.index for f, _ in feats]
        self.whole = columns == [None]  # the input is this one column
        first = columns[0] or 0
        run = columns == list(range(first, first + len(columns)))
        self.select: Any = slice(first, first + len(columns)) if run else columns  # rows of the transposed input
        edges = [np.array(f.edges, dtype=np.float64) for f, _ in feats]
        steps = max(len(e) for e in edges) + 1
        # per feature: -inf (every value but NaN is >= it), its edges, then NaN padding (nothing is >= NaN)
        table = np.full((len(edges), steps), np.nan)
        table[:, 0] = -np.inf
        for j, e in enumerate(edges):
            table[j, 1 : len(e) + 1] = e
        self.tables = {np.dtype(np.float64): table[:, :, None], np.dtype(np.float32): _ceil_float32(table)[:, :, None]}
        # rows per comparison: the boolean table stays within CHUNK_BYTES, and a count fits the uint16 sum
        self.chunk = max(1, min(65535, CHUNK_BYTES // table.size))
        # feature j's bins in the flattened (features x steps) per-bin counts
        self.take = np.concatenate([j * steps + np.arange(len(e) + 1) for j, e in enumerate(edges)])
        self.index = np.concatenate([off + np.arange(len(e) + 1) for (_, off), e in zip(feats, edges, strict=True)])

    def block(self, x: np.ndarray) -> np.ndarray:
        """The group's columns of input ``x`` as (features x rows), a view where it can be."""
        return x.reshape(1, -1) if self.whole else x.reshape(x.shape[0], -1).T[self.select]

    def counts(self, x: np.ndarray) -> np.ndarray:
        """Rows per bin of ``x`` (features x rows, ``block``), in counter-slot order (``self.index``)."""
        table = self.tables.get(x.dtype)
        if table is None:  # integers, float16, big-endian floats: numpy's float64 cast, as the readiness PSI
            x, table = x.astype(np.float64), self.tables[np.dtype(np.float64)]
        at_least = np.zeros(table.shape[:2], dtype=np.int64)  # per feature and step: rows >= the step's edge
        for start in range(0, x.shape[1], self.chunk):
            part = np.ascontiguousarray(x[:, start : start + self.chunk])  # the comparison is ~2x faster contiguous
            at_least += (part[:, None, :] >= table).sum(axis=2, dtype=np.uint16)
        per_bin = at_least.copy()  # bin b: >= step b, not >= step b + 1; the last bin: >= its step
        per_bin[:, :-1] -= at_least[:, 1:]
        return per_bin.ravel()[self.take]


class _ValueFeature:
    """A feature binned by its exact value (a categorical column, a numeric one with few values, a class)."""

    def __init__(self, f: DriftFeatureConfig, offset: int, source: str = ""):
        self.input, self.index, self.offset = source or f.input, f.index, offset
        self.slots = slice(offset, offset + f.bins)
        self.categorical = bool(f.categories)
        self.vals = np.array(sorted(f.categories)) if self.categorical else np.array(f.values, dtype=np.float64)
        # bins follow the config's order; searchsorted needs sorted values: map sorted position -> bin
        order = list(f.categories) if self.categorical else list(f.values)
        self.pos_to_bin = np.array([order.index(v) for v in self.vals.tolist()] + [len(order)])

    def column(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        x = arrays[self.input]
        return x.reshape(-1) if self.index is None else x.reshape(x.shape[0], -1)[:, self.index]

    def counts(self, col: np.ndarray) -> np.ndarray:
        """Rows per bin of ``col`` (missing numeric values left out)."""
        n = len(self.vals)
        if self.categorical:
            if col.dtype.kind == "S":
                col = np.char.decode(col, "utf-8", errors="replace")
            elif col.dtype.kind == "O":
                col = col.astype(str)
        else:
            col = col.astype(np.float64, copy=False)
            col = col[~np.isnan(col)]
        idx = np.searchsorted(self.vals, col)
        hit = self.vals[np.minimum(idx, n - 1)] == col
        return np.bincount(self.pos_to_bin[np.where(hit, idx, n)], minlength=n + 1)


class _Prediction:
    """The prediction's bins from the model's raw outputs: the label output (or argmax of probabilities over the
    classes), or a regression output."""

    def __init__(self, f: DriftFeatureConfig, offset: int, output_names: list[str], classes: list | None):
        self.pos = output_names.index(f.input) if f.input in output_names else 0
        self.edges = _EdgeGroup("_", [(f, offset)]) if f.edges else None
        self.values = None if f.edges else _ValueFeature(f, offset, "_")
        self.argmax = f.input not in LABEL_OUTPUTS and not f.edges and classes is not None
        self.classes = np.array(classes) if classes is not None else None

    @property
    def slots(self) -> Any:
        return self.edges.index if self.edges is not None else self.values.slots  # type: ignore[union-attr]

    def counts(self, out: np.ndarray) -> np.ndarray:
        if self.argmax and self.classes is not None:
            out = self.classes[np.argmax(out.reshape(out.shape[0], -1), axis=1)]
        if self.edges is not None:
            return self.edges.counts(out.reshape(1, -1))
        assert self.values is not None
        return self.values.counts(out.reshape(-1))


class DriftCounter:
    """Live row counts of one model per (feature, bin), against its reference (thread-safe ``observe``)."""

    def __init__(self, model: str, config: DriftConfig, output_names: list[str], classes: list | None = None):
        self.model = model
        feats = list(config.features)
        self.labels: list[tuple[str, str]] = []  # (feature, bin) of each counter slot
        self.reference: list[float] = []
        offsets: list[int] = []
        for f in [*feats, *([config.prediction] if config.prediction else [])]:
            offsets.append(len(self.labels))
            name = PREDICTION_FEATURE if f is config.prediction else f.name
            self.labels += [(name, b) for b in bin_labels(f)]
            self.reference += list(f.shares)
        self.size = len(self.labels)
        groups: dict[str, list[tuple[DriftFeatureConfig, int]]] = {}
        self.values: list[_ValueFeature] = []
        for f, off in zip(feats, offsets, strict=False):
            if f.edges:
                groups.setdefault(f.input, []).append((f, off))
            else:
                self.values.append(_ValueFeature(f, off))
        self.groups = [_EdgeGroup(name, fs) for name, fs in groups.items()]
        self.prediction = (
            _Prediction(config.prediction, offsets[-1], output_names, classes) if config.prediction else None
        )
        self.counts = np.zeros(self.size, dtype=np.int64)
        self.inputs = sorted({g.input for g in self.groups} | {v.input for v in self.values})
        self._pending: list = []  # batches not binned yet
        self._pending_rows = self._pending_bytes = 0
        self._lock = threading.Lock()

    def observe(self, arrays: dict[str, np.ndarray], outputs: list[np.ndarray]) -> None:
        """Take one batch (the model's input arrays and its raw outputs, in output-name order): kept by reference
        until ``FLUSH_ROWS`` rows or ``FLUSH_BYTES`` bytes wait, then binned together (and at every scrape)."""
        kept = [arrays[name] for name in self.inputs]
        if self.prediction is not None:
            kept.append(outputs[self.prediction.pos])
        rows = len(kept[0]) if kept else 0
        if not rows:  # an empty batch, or a reference of nothing: nothing to count
            return
        size = sum([a.nbytes for a in kept])
        with self._lock:
            self._pending.append(kept)
            self._pending_rows += rows
            self._pending_bytes += size
            if self._pending_rows < FLUSH_ROWS and self._pending_bytes < FLUSH_BYTES:
                return
            pending = self._take()
        self._count(pending)

    def _take(self) -> list:
        pending, self._pending = self._pending, []
        self._pending_rows = self._pending_bytes = 0
        return pending

    def _count(self, pending: list[list[np.ndarray]]) -> None:
        if not pending:
            return
        merged = [np.concatenate(arrs) if len(arrs) > 1 else arrs[0] for arrs in zip(*pending, strict=True)]
        arrays = dict(zip(self.inputs, merged, strict=False))  # the prediction's output last, if any
        updates = [(g.index, g.counts(g.block(arrays[g.input]))) for g in self.groups]
        updates += [(v.slots, v.counts(v.column(arrays))) for v in self.values]
        if self.prediction is not None:
            updates.append((self.prediction.slots, self.prediction.counts(merged[-1])))
        with self._lock:
            for slots, counts in updates:
                self.counts[slots] += counts

    def snapshot(self) -> np.ndarray:
        """The counts, after binning whatever batches wait."""
        with self._lock:
            pending = self._take()
        self._count(pending)
        with self._lock:
            return self.counts.copy()


class DriftCollector:
    """Exports every model's drift counters and reference shares at scrape time; ``shared`` (workers > 1):
    through the multiprocess metric files instead (:class:`SharedDriftExport`)."""

    def __init__(self, shared: bool = False) -> None:
        self.counters: dict[str, DriftCounter] = {}
        self.shared = SharedDriftExport(self) if shared else None

    def counter(self, model: str, config: DriftConfig, output_names: list[str],
                classes: list | None) -> DriftCounter:
        """The model's counter (one per model name: its versions share the model's reference)."""
        c = self.counters.get(model)
        if c is None:
            c = self.counters.setdefault(model, DriftCounter(model, config, output_names, classes))
        return c

    def collect(self) -> Any:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        labels = [LABEL_MODEL, LABEL_FEATURE, LABEL_BIN]
        rows = CounterMetricFamily(DRIFT_ROWS_TOTAL[: -len("_total")], METRICS_DRIFT[DRIFT_ROWS_TOTAL][1],
                                   labels=labels)
        ref = GaugeMetricFamily(DRIFT_REFERENCE_SHARE, METRICS_DRIFT[DRIFT_REFERENCE_SHARE][1], labels=labels)
        for model, c in sorted(self.counters.items()):
            counts = c.snapshot()
            for (feature, b), n, share in zip(c.labels, counts.tolist(), c.reference, strict=True):
                rows.add_metric([model, feature, b], float(n))
                ref.add_metric([model, feature, b], share)
        yield rows
        yield ref

    def describe(self) -> Any:
        return []


class SharedDriftExport:
    """workers > 1: a scrape is answered from prometheus_client's multiprocess files (summed over the workers),
    which a collector object cannot write to. A daemon thread in each worker bins the batches that wait and adds
    each (feature, bin)'s new rows to a multiprocess ``Counter`` every :data:`PUBLISH_S` seconds; the reference
    shares go to a ``Gauge`` (mode ``max``: every worker holds the same). A model's bins all exist from its first
    publication (a zero is a share PromQL needs)."""

    def __init__(self, collector: DriftCollector, period: float = PUBLISH_S):
        from prometheus_client import Counter, Gauge

        labels = [LABEL_MODEL, LABEL_FEATURE, LABEL_BIN]
        self.collector, self.period = collector, period
        # registry=None: the values live in the multiprocess files, read by the scrape's MultiProcessCollector
        self.rows = Counter(DRIFT_ROWS_TOTAL[: -len("_total")], METRICS_DRIFT[DRIFT_ROWS_TOTAL][1], labels,
                            registry=None)
        self.reference = Gauge(DRIFT_REFERENCE_SHARE, METRICS_DRIFT[DRIFT_REFERENCE_SHARE][1], labels,
                               registry=None, multiprocess_mode="max")
        self.published: dict[str, np.ndarray] = {}
        self._failed = False
        threading.Thread(target=self._run, name="mlready-drift-export", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(self.period)
            try:
                self.publish()
            except Exception:  # never let export kill the thread silently more than once
                if not self._failed:
                    self._failed = True
                    log.exception("drift export to the shared metric files failed (it keeps trying)")

    def publish(self) -> None:
        for model, c in list(self.collector.counters.items()):
            counts = c.snapshot()
            last = self.published.get(model)
            if last is None:
                last = np.zeros_like(counts)
                for (feature, b), share in zip(c.labels, c.reference, strict=True):
                    self.reference.labels(model, feature, b).set(share)
                    self.rows.labels(model, feature, b).inc(0)
            for i in np.flatnonzero(counts != last).tolist():
                feature, b = c.labels[i]
                self.rows.labels(model, feature, b).inc(int(counts[i] - last[i]))
            self.published[model] = counts
