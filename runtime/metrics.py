"""Prometheus metric names (plain constants, shared with the Grafana dashboard generator) and a factory.

Importing this module has no side effects: nothing registers in prometheus_client's global registry. The
server calls :func:`create_metrics` once and exposes its private registry on ``/metrics``.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from typing import Any

# -- names (as they appear in Prometheus; counters also get the ``_total`` suffix shown here) ------------------
REQUESTS_TOTAL = "mlready_requests_total"  # labels: model, version, protocol, status
REQUEST_DURATION = "mlready_request_duration_seconds"  # histogram, total time in the server
QUEUE_DURATION = "mlready_queue_duration_seconds"  # histogram, waiting for a batch / worker
DECODE_DURATION = "mlready_decode_duration_seconds"  # histogram, body -> validated arrays
INFERENCE_DURATION = "mlready_inference_duration_seconds"  # histogram, the onnxruntime call (per batch)
ENCODE_DURATION = "mlready_encode_duration_seconds"  # histogram, arrays -> response body
BATCH_SIZE = "mlready_batch_size"  # histogram, rows per onnxruntime call
INFLIGHT_REQUESTS = "mlready_inflight_requests"  # gauge, labels: protocol
MODEL_VERSION_STATE = "mlready_model_version_state"  # gauge 1/0, labels: model, version, state
MODEL_LOAD_DURATION = "mlready_model_load_duration_seconds"  # gauge, labels: model, version
MODEL_LOAD_FAILURES_TOTAL = "mlready_model_load_failures_total"  # counter, labels: model, version
QUEUE_REJECTED_TOTAL = "mlready_queue_rejected_total"  # counter, labels: model, version (full queue)
CAPTURE_RECORDS_TOTAL = "mlready_capture_records_total"  # counter, labels: sink (records written)
CAPTURE_DROPPED_TOTAL = "mlready_capture_dropped_total"  # counter, labels: reason (queue_full, sink_error)

# drift (runtime/drift.py): live rows and the training reference's share per (feature, bin); the predictions
# are the feature PREDICTION_FEATURE. Exported at scrape time, every bin always present.
DRIFT_ROWS_TOTAL = "mlready_drift_rows_total"  # counter, labels: model, feature, bin
DRIFT_REFERENCE_SHARE = "mlready_drift_reference_share"  # gauge, labels: model, feature, bin

# feedback (runtime/feedback.py): true labels joined with the predictions the server answered. PromQL over any
# window: accuracy = sum(increase(CORRECT)) / sum(increase(ROWS)); per class c, precision = CORRECT{class=c} /
# sum(CONFUSION{predicted=c}), recall = CORRECT{class=c} / sum(CONFUSION{actual=c}); MAE = ABS_ERROR / ROWS,
# RMSE = sqrt(SQUARED_ERROR / ROWS). Recording and alert rules: generators/monitoring/accuracy.py.
FEEDBACK_ROWS_TOTAL = "mlready_feedback_rows_total"  # counter, labels: model, version (labelled rows joined)
FEEDBACK_IDS_TOTAL = "mlready_feedback_ids_total"  # counter, labels: model, outcome (FEEDBACK_OUTCOMES)
FEEDBACK_CONFUSION_TOTAL = "mlready_feedback_confusion_total"  # counter, labels: model, version, actual, predicted
FEEDBACK_CORRECT_TOTAL = "mlready_feedback_correct_total"  # counter, labels: model, version, class (true positives)
FEEDBACK_ABS_ERROR = "mlready_feedback_absolute_error_total"  # counter, labels: model, version (sum of |y - y_hat|)
FEEDBACK_SQUARED_ERROR = "mlready_feedback_squared_error_total"  # counter, labels: model, version
FEEDBACK_POSITIVE_CLASS = "mlready_feedback_positive_class"  # gauge 1, labels: model, class (binary classifiers)
FEEDBACK_OUTCOMES = ("joined", "expired", "unknown", "duplicate")

METRICS_FEEDBACK: dict[str, tuple[str, str, tuple[str, ...]]] = {
    FEEDBACK_ROWS_TOTAL: ("counter", "Labelled rows joined with the prediction the server answered (regression: "
                          "those whose prediction was a finite number, the rows the error sums cover).",
                          ("model", "version")),
    FEEDBACK_IDS_TOTAL: ("counter", "Request ids in feedback, by outcome (expired: evicted from the store by age or "
                         "size; unknown: never seen, or another model's; duplicate: labelled before).",
                         ("model", "outcome")),
    FEEDBACK_CONFUSION_TOTAL: ("counter", "Labelled rows per (true class, predicted class).",
                               ("model", "version", "actual", "predicted")),
    FEEDBACK_CORRECT_TOTAL: ("counter", "Labelled rows predicted right, per true class.", ("model", "version", "class")),
    FEEDBACK_ABS_ERROR: ("counter", "Sum of absolute errors of labelled regression rows.", ("model", "version")),
    FEEDBACK_SQUARED_ERROR: ("counter", "Sum of squared errors of labelled regression rows.", ("model", "version")),
    FEEDBACK_POSITIVE_CLASS: ("gauge", "1 for a binary classifier's positive class (the build's precision, recall "
                              "and f1 are of that class).", ("model", "class")),
}

# -- label names and values --------------------------------------------------------------------------------
LABEL_MODEL = "model"
LABEL_VERSION = "version"
LABEL_PROTOCOL = "protocol"
LABEL_STATUS = "status"
LABEL_STATE = "state"
LABEL_FEATURE = "feature"
LABEL_BIN = "bin"
PREDICTION_FEATURE = "__prediction__"  # the feature label of the prediction's bins
PROTOCOLS = ("tfserving", "v2-rest", "v2-grpc", "sagemaker", "vertex", "azure")
#: TensorFlow Serving's version states, used by the status endpoints and MODEL_VERSION_STATE.
STATES = ("START", "LOADING", "AVAILABLE", "UNLOADING", "END", "FAILED")

LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                   5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)

#: every metric: name -> (type, help, labels). The dashboard generator may iterate this.
METRICS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    REQUESTS_TOTAL: ("counter", "Inference requests answered.", ("model", "version", "protocol", "status")),
    REQUEST_DURATION: ("histogram", "Total request latency in the server.", ("model", "version", "protocol")),
    QUEUE_DURATION: ("histogram", "Time spent waiting for a batch slot.", ("model", "version")),
    DECODE_DURATION: ("histogram", "Time decoding and validating a request body.", ("model", "protocol")),
    INFERENCE_DURATION: ("histogram", "onnxruntime run time per batch.", ("model", "version")),
    ENCODE_DURATION: ("histogram", "Time encoding a response body.", ("model", "protocol")),
    BATCH_SIZE: ("histogram", "Rows per onnxruntime call.", ("model", "version")),
    INFLIGHT_REQUESTS: ("gauge", "Inference requests being processed.", ("protocol",)),
    MODEL_VERSION_STATE: ("gauge", "1 for the current state of a model version.", ("model", "version", "state")),
    MODEL_LOAD_DURATION: ("gauge", "Seconds the last load (and warm-up) of a version took.", ("model", "version")),
    MODEL_LOAD_FAILURES_TOTAL: ("counter", "Model version loads that failed.", ("model", "version")),
    QUEUE_REJECTED_TOTAL: ("counter", "Requests rejected because the batch queue was full.", ("model", "version")),
    CAPTURE_RECORDS_TOTAL: ("counter", "Prediction capture records written to the sink.", ("sink",)),
    CAPTURE_DROPPED_TOTAL: ("counter", "Prediction capture records dropped (queue full or sink failing).",
                            ("reason",)),
}

METRICS_DRIFT: dict[str, tuple[str, str, tuple[str, ...]]] = {
    DRIFT_ROWS_TOTAL: ("counter", "Rows served per feature bin (and per predicted class / output bin).",
                       ("model", "feature", "bin")),
    DRIFT_REFERENCE_SHARE: ("gauge", "Share of the training reference's rows in each feature bin.",
                            ("model", "feature", "bin")),
}


class _FastHistogram:
    """A labelled histogram with a cheap ``observe`` (a bisect and two additions under a lock).

    prometheus_client's Histogram costs ~3.5 us per observation; a request makes six. This one is
    collected at scrape time by :class:`_FastCollector` in the standard exposition format.
    """

    def __init__(self, name: str, help_: str, labels: tuple[str, ...], buckets: tuple[float, ...],
                 loop_only: bool = False):
        self.name, self.help, self.labelnames = name, help_, labels
        self.buckets = tuple(float(b) for b in buckets)
        self._children: dict[tuple[str, ...], _FastChild] = {}
        self._lock = threading.Lock()
        self._child = _LoopHistChild if loop_only else _FastChild

    def labels(self, *values: str) -> _FastChild:
        child = self._children.get(values)
        if child is None:
            child = self._children.setdefault(values, self._child(self.buckets, self._lock))
        return child


class _FastChild:
    __slots__ = ("_buckets", "_counts", "_sum", "_lock")

    def __init__(self, buckets: tuple[float, ...], lock: Any):
        self._buckets = buckets
        self._counts = [0] * (len(buckets) + 1)
        self._sum = 0.0
        self._lock = lock

    def observe(self, value: float) -> None:
        i = bisect_left(self._buckets, value)
        with self._lock:
            self._counts[i] += 1
            self._sum += value


class _LoopHistChild(_FastChild):
    """A histogram child observed only on the event loop's thread: no lock."""

    __slots__ = ()

    def observe(self, value: float) -> None:
        self._counts[bisect_left(self._buckets, value)] += 1
        self._sum += value


class _FastCollector:
    def __init__(self, histograms: list[_FastHistogram]):
        self._histograms = histograms

    def collect(self) -> Any:
        from prometheus_client.core import HistogramMetricFamily
        from prometheus_client.utils import floatToGoString  # how prometheus_client writes ``le`` itself

        for h in self._histograms:
            family = HistogramMetricFamily(h.name, h.help, labels=h.labelnames)
            for values, child in sorted(h._children.items()):
                with h._lock:
                    counts, total = list(child._counts), child._sum
                cumulative, acc = [], 0
                for bound, n in zip((*h.buckets, float("inf")), counts, strict=True):
                    acc += n
                    cumulative.append((floatToGoString(bound), acc))
                family.add_metric(list(values), cumulative, total)
            yield family

    def describe(self) -> Any:
        return []


class _LoopChild:
    """One labelled counter or gauge value changed only on the event loop's thread: a plain float, no lock
    (prometheus_client takes one per ``inc``; the requests counter and the in-flight gauge change 3 times per
    request)."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount

    def dec(self, amount: float = 1.0) -> None:
        self.value -= amount


class _LoopMetric:
    """A labelled counter or gauge of :class:`_LoopChild` values, exported by :class:`_LoopCollector`."""

    def __init__(self, kind: str, name: str, help_: str, labels: tuple[str, ...]):
        self.kind, self.name, self.help, self.labelnames = kind, name, help_, labels
        self._children: dict[tuple[str, ...], _LoopChild] = {}

    def labels(self, *values: str) -> _LoopChild:
        child = self._children.get(values)
        if child is None:
            child = self._children.setdefault(values, _LoopChild())
        return child


class _LoopCollector:
    def __init__(self, metrics: list[_LoopMetric]):
        self._metrics = metrics

    def collect(self) -> Any:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        for m in self._metrics:
            family: Any
            if m.kind == "counter":
                family = CounterMetricFamily(_base(m.name), m.help, labels=m.labelnames)
            else:
                family = GaugeMetricFamily(m.name, m.help, labels=m.labelnames)
            for values, child in list(m._children.items()):
                family.add_metric(list(values), child.value)
            yield family

    def describe(self) -> Any:
        return []


#: changed or observed only on the event loop's thread (Service.infer): lock-free in a single process
_LOOP_ONLY = (REQUESTS_TOTAL, INFLIGHT_REQUESTS, REQUEST_DURATION, DECODE_DURATION, ENCODE_DURATION)


def _base(name: str) -> str:
    return name[: -len("_total")] if name.endswith("_total") else name


class Metrics:
    """The runtime's metric objects, in a private registry."""

    def __init__(self, registry: Any = None):
        import os

        from prometheus_client import CollectorRegistry, Histogram

        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        fast: list[_FastHistogram] = []
        loop_only: list[_LoopMetric] = []
        made: dict[str, Any] = {}
        for name, (kind, help_, labels) in METRICS.items():
            if kind in ("counter", "gauge") and name in _LOOP_ONLY and not multiprocess:
                made[name] = _LoopMetric(kind, name, help_, labels)
                loop_only.append(made[name])
            elif kind in ("counter", "gauge"):
                made[name] = self._made(name, kind, help_, labels)
            else:
                buckets = BATCH_BUCKETS if name == BATCH_SIZE else LATENCY_BUCKETS
                if multiprocess:  # values must live in prometheus_client's shared files
                    made[name] = Histogram(name, help_, labels, buckets=buckets, registry=self.registry)
                else:
                    made[name] = _FastHistogram(name, help_, labels, buckets, loop_only=name in _LOOP_ONLY)
                    fast.append(made[name])
        if fast:
            self.registry.register(_FastCollector(fast))
        if loop_only:
            self.registry.register(_LoopCollector(loop_only))
        if registry is None and not multiprocess:
            # process_cpu_seconds_total, process_resident_memory_bytes, ... and python_info, for the
            # dashboard's CPU and memory panels (with workers, each process has its own: not aggregated).
            from prometheus_client import PlatformCollector, ProcessCollector

            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
        self.requests = made[REQUESTS_TOTAL]
        self.request_duration = made[REQUEST_DURATION]
        self.queue_duration = made[QUEUE_DURATION]
        self.decode_duration = made[DECODE_DURATION]
        self.inference_duration = made[INFERENCE_DURATION]
        self.encode_duration = made[ENCODE_DURATION]
        self.batch_size = made[BATCH_SIZE]
        self.inflight = made[INFLIGHT_REQUESTS]
        self.version_state = made[MODEL_VERSION_STATE]
        self.load_duration = made[MODEL_LOAD_DURATION]
        self.load_failures = made[MODEL_LOAD_FAILURES_TOTAL]
        self.queue_rejected = made[QUEUE_REJECTED_TOTAL]
        self.capture_records = made[CAPTURE_RECORDS_TOTAL]
        self.capture_dropped = made[CAPTURE_DROPPED_TOTAL]
        self._children: dict[tuple, Any] = {}
        from mlready.runtime.drift import DriftCollector

        # the models' drift counters, exported at scrape time (workers > 1: through the shared metric files)
        self.drift = DriftCollector(shared=multiprocess)
        self.registry.register(self.drift)

    def _made(self, name: str, kind: str, help_: str, labels: tuple[str, ...]) -> Any:
        from prometheus_client import Counter, Gauge

        if kind == "counter":
            return Counter(_base(name), help_, labels, registry=self.registry)
        mode = "livesum" if name == INFLIGHT_REQUESTS else "max"  # only matters with workers > 1
        return Gauge(name, help_, labels, registry=self.registry, multiprocess_mode=mode)

    def register(self, table: dict[str, tuple[str, str, tuple[str, ...]]]) -> dict[str, Any]:
        """The counters and gauges of a metric table (name -> kind, help, labels), made in this registry (for
        a feature that exports its metrics only when it is on, like ``METRICS_FEEDBACK``)."""
        return {name: self._made(name, *spec) for name, spec in table.items()}

    def child(self, metric: Any, *labels: str) -> Any:
        """A cached labelled child (``labels()`` is the slow part of an observation)."""
        key = (id(metric), labels)
        c = self._children.get(key)
        if c is None:
            c = self._children[key] = metric.labels(*labels)
        return c

    def set_state(self, model: str, version: int, state: str) -> None:
        for s in STATES:
            self.child(self.version_state, model, str(version), s).set(1 if s == state else 0)

    def render(self) -> tuple[bytes, str]:
        import os

        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if path:  # workers > 1: aggregate every worker's values
            from prometheus_client.multiprocess import MultiProcessCollector

            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=path)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def create_metrics(registry: Any = None) -> Metrics:
    return Metrics(registry)
