"""Live drift counting: rows per (feature, bin) and per predicted class / output bin, against the training
reference the build baked into the runtime config (``models.<name>.drift``, :class:`DriftConfig`).

One :class:`DriftCounter` per model: each onnxruntime batch (``ModelVersion._run``) is binned with a few numpy
calls for the whole batch (quantile features of one matrix input together: a broadcast comparison with their
padded edges; value and category features by ``searchsorted``), and one ``bincount`` is added to an int64
array under a lock. Nothing per value in Python, nothing per bin on the request path: the counts and the
reference shares are turned into Prometheus samples at scrape time (:class:`DriftCollector`), every bin
always present (a zero is a share PromQL needs), so the label cardinality is the reference's bins.

Missing values (NaN in a numeric column) are not counted, as the readiness PSI leaves them out. With
``workers > 1`` (prometheus_client's multiprocess mode) the drift counters are not exported: each worker
holds its own counts in memory.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
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

OTHER = "__other__"
LABEL_OUTPUTS = ("label", "output_label")


def bin_labels(f: DriftFeatureConfig) -> list[str]:
    """The ``bin`` label of each bin: ``00``.. for quantile bins, the value or category, then ``__other__``."""
    if f.edges:
        width = len(str(len(f.edges)))
        return [f"{i:0{width}d}" for i in range(len(f.edges) + 1)]
    named = [f"{v:g}" for v in f.values] if f.values else list(f.categories)
    return [*named, OTHER]


class _EdgeGroup:
    """Quantile-binned numeric features read from one input: binned together, one comparison per batch."""

    def __init__(self, input_name: str, feats: list[tuple[DriftFeatureConfig, int]]):
        self.input = input_name
        self.columns = [f.index for f, _ in feats]
        self.whole = self.columns == [None]  # the input is this one column
        width = max(len(f.edges) for f, _ in feats)
        self.edges = np.full((len(feats), width), np.inf)
        for i, (f, _) in enumerate(feats):
            self.edges[i, : len(f.edges)] = f.edges
        self.last = np.array([len(f.edges) for f, _ in feats])
        self.offsets = np.array([off for _, off in feats])

    def flat(self, arrays: dict[str, np.ndarray], trash: int) -> np.ndarray:
        x = arrays[self.input]
        x = x.reshape(-1, 1) if self.whole else x.reshape(x.shape[0], -1)[:, self.columns]
        x = x.astype(np.float64, copy=False)
        b = (x[:, :, None] >= self.edges[None, :, :]).sum(axis=2)
        flat = np.minimum(b, self.last) + self.offsets
        flat[np.isnan(x)] = trash
        return flat.ravel()


class _ValueFeature:
    """A feature binned by its exact value (a categorical column, a numeric one with few values, a class)."""

    def __init__(self, f: DriftFeatureConfig, offset: int, source: str = ""):
        self.input, self.index, self.offset = source or f.input, f.index, offset
        self.categorical = bool(f.categories)
        self.vals = np.array(sorted(f.categories)) if self.categorical else np.array(f.values, dtype=np.float64)
        # bins follow the config's order; searchsorted needs sorted values: map sorted position -> bin
        order = list(f.categories) if self.categorical else list(f.values)
        self.pos_to_bin = np.array([order.index(v) for v in self.vals.tolist()] + [len(order)])

    def column(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        x = arrays[self.input]
        return x.reshape(-1) if self.index is None else x.reshape(x.shape[0], -1)[:, self.index]

    def bins(self, col: np.ndarray, trash: int) -> np.ndarray:
        n = len(self.vals)
        missing = None
        if self.categorical:
            if col.dtype.kind == "S":
                col = np.char.decode(col, "utf-8", errors="replace")
            elif col.dtype.kind == "O":
                col = col.astype(str)
        else:
            col = col.astype(np.float64, copy=False)
            missing = np.isnan(col)
        idx = np.searchsorted(self.vals, col)
        hit = self.vals[np.minimum(idx, n - 1)] == col
        flat = self.pos_to_bin[np.where(hit, idx, n)] + self.offset
        if missing is not None:
            flat[missing] = trash
        return flat

    def flat(self, arrays: dict[str, np.ndarray], trash: int) -> np.ndarray:
        return self.bins(self.column(arrays), trash)


class _Prediction:
    """The prediction's bins from the model's raw outputs: the label output (or argmax of probabilities over the
    classes), or a regression output."""

    def __init__(self, f: DriftFeatureConfig, offset: int, output_names: list[str], classes: list | None):
        self.pos = output_names.index(f.input) if f.input in output_names else 0
        self.edges = _EdgeGroup("_", [(f, offset)]) if f.edges else None
        self.values = None if f.edges else _ValueFeature(f, offset, "_")
        self.argmax = f.input not in LABEL_OUTPUTS and not f.edges and classes is not None
        self.classes = np.array(classes) if classes is not None else None

    def flat(self, outputs: list[np.ndarray], trash: int) -> np.ndarray:
        out = np.asarray(outputs[self.pos])
        if self.argmax and self.classes is not None:
            out = self.classes[np.argmax(out.reshape(out.shape[0], -1), axis=1)]
        if self.edges is not None:
            return self.edges.flat({"_": out.reshape(-1)}, trash)
        assert self.values is not None
        return self.values.bins(out.reshape(-1), trash)


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
        self.counts = np.zeros(self.size + 1, dtype=np.int64)  # the last slot takes missing values
        self._lock = threading.Lock()

    def observe(self, arrays: dict[str, np.ndarray], outputs: list[np.ndarray]) -> None:
        """Count one batch's rows (the model's input arrays and its raw outputs, in output-name order)."""
        trash = self.size
        parts = [g.flat(arrays, trash) for g in self.groups]
        parts += [v.flat(arrays, trash) for v in self.values]
        if self.prediction is not None:
            parts.append(self.prediction.flat(outputs, trash))
        counts = np.bincount(np.concatenate(parts), minlength=self.size + 1)
        with self._lock:
            self.counts += counts

    def snapshot(self) -> np.ndarray:
        with self._lock:
            return self.counts[: self.size].copy()


class DriftCollector:
    """Exports every model's drift counters and reference shares at scrape time."""

    def __init__(self) -> None:
        self.counters: dict[str, DriftCounter] = {}

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
