"""The runtime configuration (``kind: runtime-config``): a JSON file, validated strictly into dataclasses.

Every field has a default except ``model_repository``. Unknown keys and wrong types are rejected with an error
naming the field (``models.quickstart.batching.max_batch_size: expected an integer >= 1, got 0``).
:meth:`RuntimeConfig.to_dict` is deterministic (sorted keys, every field present) so a build step can write it
byte-identically. The format is documented in ``runtime/README.md``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

KIND = "runtime-config"
SCHEMA_VERSION = 1


class ConfigError(ValueError):
    """The runtime configuration is invalid; the message names the field."""


@dataclass(frozen=True)
class VersionPolicy:
    """TensorFlow Serving's version policy: the latest N versions, all versions, or a specific list."""

    policy: Literal["latest", "all", "specific"] = "latest"
    num_versions: int = 1
    versions: tuple[int, ...] = ()

    def _check(self, path: str) -> None:
        if self.num_versions < 1:
            raise ConfigError(f"{path}.num_versions: expected an integer >= 1, got {self.num_versions}")
        if self.policy == "specific" and not self.versions:
            raise ConfigError(f"{path}.versions: the 'specific' policy needs at least one version")
        if any(v < 1 for v in self.versions):
            raise ConfigError(f"{path}.versions: versions are positive integers, got {list(self.versions)}")
        if self.policy != "specific" and self.versions:
            raise ConfigError(f"{path}.versions: only allowed with policy 'specific'")

    def select(self, available: list[int]) -> list[int]:
        """The versions to serve among ``available`` (sorted ascending)."""
        available = sorted(available)
        if self.policy == "all":
            return available
        if self.policy == "specific":
            return [v for v in available if v in self.versions]
        return available[-self.num_versions :]


@dataclass(frozen=True)
class BatchingConfig:
    """Dynamic batching: concurrent requests are merged into one onnxruntime call."""

    enabled: bool = True  # greedy (no added delay when idle): a pure throughput win under concurrency
    max_batch_size: int = 32
    max_queue_delay_ms: float = 0.0  # extra wait for more requests once one is queued; 0 = greedy
    queue_size: int = 1024  # requests waiting; a full queue answers 503 at once

    def _check(self, path: str) -> None:
        _positive(path, "max_batch_size", self.max_batch_size)
        _positive(path, "queue_size", self.queue_size)
        if not 0 <= self.max_queue_delay_ms <= 10_000:
            raise ConfigError(f"{path}.max_queue_delay_ms: expected 0..10000, got {self.max_queue_delay_ms}")


@dataclass(frozen=True)
class DriftFeatureConfig:
    """The training reference of one feature (or of the predictions): its bins and their shares.

    Exactly one of ``edges`` (inner quantile edges of a numeric column: ``len(edges) + 1`` bins, a value ``x``
    falls in bin ``searchsorted(edges, x, side='right')``), ``values`` (the distinct values of a numeric column
    with few of them, one bin each, plus one bin for any other value) or ``categories`` (a categorical column's
    categories, plus one ``__other__`` bin) is set; ``shares`` has one entry per bin and sums to 1. ``input`` and
    ``index`` locate the column in the model's inputs (``index`` None: the input is this column alone)."""

    name: str
    shares: tuple[float, ...]
    input: str = ""
    index: int | None = None
    edges: tuple[float, ...] = ()
    values: tuple[float, ...] = ()
    categories: tuple[str, ...] = ()

    @property
    def bins(self) -> int:
        return len(self.edges) + 1 if self.edges else len(self.values or self.categories) + 1

    def _check(self, path: str) -> None:
        if sum(bool(x) for x in (self.edges, self.values, self.categories)) != 1:
            raise ConfigError(f"{path}: set exactly one of edges, values, categories")
        if list(self.edges) != sorted(set(self.edges)) or list(self.values) != sorted(set(self.values)):
            raise ConfigError(f"{path}: edges and values must be strictly increasing")
        if len(set(self.categories)) != len(self.categories):
            raise ConfigError(f"{path}.categories: categories must be unique")
        if len(self.shares) != self.bins:
            raise ConfigError(f"{path}.shares: expected {self.bins} shares (one per bin), got {len(self.shares)}")
        if any(not 0 <= s <= 1 for s in self.shares) or abs(sum(self.shares) - 1) > 1e-3:
            raise ConfigError(f"{path}.shares: expected shares in 0..1 summing to 1")
        if self.index is not None and self.index < 0:
            raise ConfigError(f"{path}.index: expected an integer >= 0, got {self.index}")


@dataclass(frozen=True)
class DriftConfig:
    """The training reference the server counts live rows against (``runtime/drift.py``): per feature, and of
    the predictions (``prediction.input`` names the output it reads)."""

    features: tuple[DriftFeatureConfig, ...] = ()
    prediction: DriftFeatureConfig | None = None

    def _check(self, path: str) -> None:
        names = [f.name for f in self.features]
        if len(set(names)) != len(names):
            raise ConfigError(f"{path}.features: feature names must be unique")
        for i, f in enumerate(self.features):
            f._check(f"{path}.features[{i}]")
            if not f.input:
                raise ConfigError(f"{path}.features[{i}].input: must name the model input")
        if self.prediction is not None:
            self.prediction._check(f"{path}.prediction")

    def unknown_tensors(self, inputs: list[str], outputs: list[str]) -> list[str]:
        """The inputs and outputs this reference reads that a model with ``inputs`` / ``outputs`` lacks."""
        missing = sorted({f"input {f.input!r}" for f in self.features if f.input not in inputs})
        if self.prediction is not None and self.prediction.input not in outputs:
            missing.append(f"output {self.prediction.input!r}")
        return missing


@dataclass(frozen=True)
class ModelConfig:
    """Settings for one model (``models.<name>``; ``default_model`` for models not listed)."""

    version_policy: VersionPolicy = field(default_factory=VersionPolicy)
    labels: dict[str, int] = field(default_factory=dict)
    batching: BatchingConfig = field(default_factory=BatchingConfig)
    warmup: bool = True
    drift: DriftConfig | None = None  # the training reference live rows are counted against (None: no counting)

    def _check(self, path: str) -> None:
        self.version_policy._check(f"{path}.version_policy")
        self.batching._check(f"{path}.batching")
        if self.drift is not None:
            self.drift._check(f"{path}.drift")
        for label, version in self.labels.items():
            if not label or not label.replace("-", "").replace("_", "").isalnum():
                raise ConfigError(f"{path}.labels: invalid label name {label!r}")
            if version < 1:
                raise ConfigError(f"{path}.labels.{label}: expected a positive version, got {version}")


@dataclass(frozen=True)
class ThreadConfig:
    """onnxruntime thread pools (0 = onnxruntime's default) and the inference thread pool size (0 = auto)."""

    intra_op: int = 0
    inter_op: int = 0
    executor: int = 0
    # A one-row call measured (at warm-up) below this runs on the event loop: cheaper than a thread hop.
    inline_below_ms: float = 0.3

    def _check(self, path: str) -> None:
        if not 0 <= self.inline_below_ms <= 5:
            raise ConfigError(f"{path}.inline_below_ms: expected 0..5, got {self.inline_below_ms}")
        for name in ("intra_op", "inter_op", "executor"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{path}.{name}: expected an integer >= 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class ProviderConfig:
    """An onnxruntime execution provider with its string options (from the optimize step's providers.json).

    Providers this onnxruntime build lacks are skipped with a warning; CPUExecutionProvider is always last.
    """

    name: str
    options: dict[str, str] = field(default_factory=dict)

    def _check(self, path: str) -> None:
        if not self.name.endswith("ExecutionProvider"):
            raise ConfigError(f"{path}.name: expected an onnxruntime provider name, got {self.name!r}")


@dataclass(frozen=True)
class AuthConfig:
    """Optional bearer-token auth on inference routes. The token comes from an env var or a mounted file."""

    token_env: str | None = None
    token_file: str | None = None
    open_health: bool = True
    open_metrics: bool = True

    def _check(self, path: str) -> None:
        if self.token_env is not None and self.token_file is not None:
            raise ConfigError(f"{path}: set token_env or token_file, not both")

    @property
    def enabled(self) -> bool:
        return self.token_env is not None or self.token_file is not None


@dataclass(frozen=True)
class CloudConfig:
    """Cloud container contracts: SageMaker (/ping, /invocations), Vertex AI (AIP_* env), Azure ML route."""

    sagemaker: bool = True
    vertex: bool = True  # honour AIP_HTTP_PORT, AIP_HEALTH_ROUTE, AIP_PREDICT_ROUTE when set
    azure_route: str | None = "/score"
    default_model: str | None = None  # the model cloud routes serve; None = the only model

    def _check(self, path: str) -> None:
        if self.azure_route is not None and not self.azure_route.startswith("/"):
            raise ConfigError(f"{path}.azure_route: must start with '/', got {self.azure_route!r}")
        check_routes(self)  # the Vertex AI routes come from the environment: RuntimeConfig.vertex_routes


# -- routes of the HTTP API (issue 20 item 9: a configured route must never take over another) ----------------

#: routes the HTTP API always serves (``rest.App``); the health ones answer without a token when
#: ``auth.open_health``, ``/metrics`` when ``auth.open_metrics``, ``/`` and ``/openapi.json`` always
BUILTIN_ROUTES = ("/", "/v2", "/v2/health/live", "/v2/health/ready", "/metrics", "/openapi.json", "/v1/models")
HEALTH_ROUTES = ("/v2/health/live", "/v2/health/ready", "/ping")
SAGEMAKER_ROUTES = ("/ping", "/invocations")
#: model routes are matched by prefix: a configured exact route under one would shadow a model's route
MODEL_ROUTE_PREFIXES = ("/v1/models/", "/v2/models/")


def normalize_route(route: str) -> str:
    """A route as the router compares it (a trailing slash is ignored)."""
    return route.rstrip("/") or "/"


def check_routes(cloud: CloudConfig, health: tuple[str, str | None] = ("", None),
                 predict: tuple[str, str | None] = ("", None)) -> None:
    """Refuse configured routes that collide: ``cloud.azure_route`` and the Vertex AI health and predict routes
    (``health`` / ``predict``: the key that sets each, e.g. ``AIP_HEALTH_ROUTE``, and its value) against each
    other, the built-in routes and the model routes. A prediction route that equals an open route (health,
    ``/``) would serve predictions without a token; the Vertex health route may be a built-in health route
    (it is the same readiness check)."""
    taken: dict[str, str] = {r: "a built-in route" for r in BUILTIN_ROUTES}
    if cloud.sagemaker:
        taken.update({r: "the SageMaker routes (cloud.sagemaker)" for r in SAGEMAKER_ROUTES})
    configured = [("cloud.azure_route", cloud.azure_route, False)]
    if cloud.vertex:
        configured += [(health[0], health[1], True), (predict[0], predict[1], False)]
    for key, route, is_health in configured:
        if not route:
            continue
        if not route.startswith("/"):
            raise ConfigError(f"{key}: a route must start with '/', got {route!r}")
        norm = normalize_route(route)
        if is_health and norm in HEALTH_ROUTES:
            taken.setdefault(norm, key)
            continue
        if norm in taken:
            raise ConfigError(f"{key}: route {route!r} is already {_owner(taken[norm])}; routes must differ "
                              f"(a prediction route that equals an open route would serve without a token)")
        if norm.startswith(MODEL_ROUTE_PREFIXES):
            raise ConfigError(f"{key}: route {route!r} would shadow the model routes under "
                              f"{' and '.join(MODEL_ROUTE_PREFIXES)}")
        taken[norm] = key


def _owner(owner: str) -> str:
    return owner if owner.startswith(("a ", "the ")) else f"taken by {owner}"


# -- gRPC port limits (issue 20: one hostile client must not deny service) ------------------------------------


@dataclass(frozen=True)
class GrpcLimitsConfig:
    """Limits of the gRPC (HTTP/2) port against slow and hostile clients. Frame-flood and reset budgets are
    fixed (``grpc_wire``); these depend on the deployment."""

    max_connections: int = 1000  # more are answered GOAWAY and closed at once
    header_timeout_s: float = 10.0  # the HTTP/2 connection preface, and each header block, must arrive within
    message_timeout_s: float = 60.0  # a call's request message must be complete this long after its HEADERS
    idle_timeout_s: float = 600.0  # a connection without a call for this long gets GOAWAY and is closed
    # request bytes held across all connections (partial messages, complete ones until their call ends, inflated
    # when compressed); also bounds the answers waiting for clients' flow-control windows
    max_buffered_bytes: int = 64 * 1024 * 1024

    def _check(self, path: str, max_body_bytes: int) -> None:
        if not 1 <= self.max_connections <= 1_000_000:
            raise ConfigError(f"{path}.max_connections: expected 1..1000000, got {self.max_connections}")
        for name, top in (("header_timeout_s", 3600), ("message_timeout_s", 3600), ("idle_timeout_s", 86400)):
            if not 0.1 <= getattr(self, name) <= top:
                raise ConfigError(f"{path}.{name}: expected 0.1..{top} seconds, got {getattr(self, name)}")
        if self.max_buffered_bytes < max_body_bytes:
            raise ConfigError(f"{path}.max_buffered_bytes: must be at least max_body_bytes ({max_body_bytes}), "
                              f"got {self.max_buffered_bytes}")


# -- HTTP/1.1 (REST) port limits (issue 20: one hostile client must not deny service) -------------------------


@dataclass(frozen=True)
class HttpLimitsConfig:
    """Limits of the REST (HTTP/1.1) port against slow and hostile clients, per worker process. The front end
    (granian's hyper HTTP/1.1) enforces the header, connection and timeout limits; mlready's transport layer
    (``http_transport``) the body timeout, the header count below hyper's own 100 and the decode budget."""

    max_connections: int = 1000  # open connections; more wait in the listen backlog until one closes
    max_header_bytes: int = 64 * 1024  # request line + headers (also bounds what one connection may pipeline)
    max_headers: int = 100  # header fields per request (hyper refuses more than 100 itself)
    header_timeout_s: float = 10.0  # a request's headers must arrive within; also how long a kept-alive
    #                                 connection may sit idle waiting for its next request
    body_timeout_s: float = 60.0  # a request's body must arrive within (from the end of its headers)
    decode_budget_bytes: int = 64 * 1024 * 1024  # request bodies being received and decoded at once; beyond: 503
    offload_bytes: int = 256 * 1024  # bodies at least this large are decoded off the event loop
    decode_workers: int = 1  # processes decoding large bodies (off the server's GIL); 0: on the inference threads

    def _check(self, path: str, max_body_bytes: int) -> None:
        if not 1 <= self.max_connections <= 1_000_000:
            raise ConfigError(f"{path}.max_connections: expected 1..1000000, got {self.max_connections}")
        if not 8192 <= self.max_header_bytes <= 16 * 1024 * 1024:
            raise ConfigError(f"{path}.max_header_bytes: expected 8192..16777216, got {self.max_header_bytes}")
        if not 1 <= self.max_headers <= 100:
            raise ConfigError(f"{path}.max_headers: expected 1..100, got {self.max_headers}")
        if not 0.1 <= self.header_timeout_s <= 60:  # granian's bounds (1..60000 ms)
            raise ConfigError(f"{path}.header_timeout_s: expected 0.1..60 seconds, got {self.header_timeout_s}")
        if not 0.1 <= self.body_timeout_s <= 3600:
            raise ConfigError(f"{path}.body_timeout_s: expected 0.1..3600 seconds, got {self.body_timeout_s}")
        if self.decode_budget_bytes < max_body_bytes:
            raise ConfigError(f"{path}.decode_budget_bytes: must be at least max_body_bytes ({max_body_bytes}), "
                              f"got {self.decode_budget_bytes}")
        if self.offload_bytes < 0:
            raise ConfigError(f"{path}.offload_bytes: expected an integer >= 0, got {self.offload_bytes}")
        if not 0 <= self.decode_workers <= 64:
            raise ConfigError(f"{path}.decode_workers: expected 0..64, got {self.decode_workers}")


# -- prediction capture (issue 16: each sampled request's inputs and answer, recorded off the hot path) --------

CAPTURE_SINKS = ("file", "stdout", "http")


@dataclass(frozen=True)
class CaptureConfig:
    """Prediction capture: a sample of requests (id, time, model, version, protocol, named inputs, outputs)
    written by a background thread to rotating JSONL files, stdout, or an HTTP collector (CloudEvents batches).
    A bounded queue sits between the requests and the writer: when the sink cannot keep up, records are
    dropped and counted, never waited for. The record format is in ``runtime/README.md``."""

    enabled: bool = False
    sample_rate: float = 1.0  # the share of requests recorded, 0..1
    sink: Literal["file", "stdout", "http"] = "file"
    directory: str = "/var/lib/mlready/capture"  # file sink: where the JSONL files go (a volume)
    max_file_bytes: int = 64 * 1024 * 1024  # file sink: a file is closed and a new one started past this size
    max_file_age_s: float = 3600.0  # file sink: ... or after this long
    max_files: int = 48  # file sink: the oldest files beyond this count are deleted
    url: str | None = None  # http sink: the collector's URL (http:// or https://)
    timeout_s: float = 5.0  # http sink: one POST's time limit (a failed batch is dropped and counted)
    batch_size: int = 100  # records per write / POST
    flush_interval_s: float = 1.0  # the most time a record waits in the queue before being written
    queue_size: int = 10_000  # records waiting for the writer; beyond: dropped and counted
    max_queue_bytes: int = 64 * 1024 * 1024  # tensor bytes held by waiting records; beyond: dropped and counted
    redact: tuple[str, ...] = ()  # feature or output names recorded as "[redacted]"
    drop: tuple[str, ...] = ()  # feature or output names left out of the record

    def _check(self, path: str) -> None:
        if not 0 <= self.sample_rate <= 1:
            raise ConfigError(f"{path}.sample_rate: expected 0..1, got {self.sample_rate}")
        for name in ("max_file_bytes", "max_files", "batch_size", "queue_size", "max_queue_bytes"):
            _positive(path, name, getattr(self, name))
        if self.max_file_bytes < 4096:
            raise ConfigError(f"{path}.max_file_bytes: expected at least 4096, got {self.max_file_bytes}")
        for name, low, top in (("max_file_age_s", 1, 30 * 86400), ("timeout_s", 0.1, 300),
                               ("flush_interval_s", 0.01, 3600)):
            if not low <= getattr(self, name) <= top:
                raise ConfigError(f"{path}.{name}: expected {low}..{top} seconds, got {getattr(self, name)}")
        if not re.fullmatch(r"(/[A-Za-z0-9._-]+)+", self.directory) or "/.." in self.directory:
            raise ConfigError(f"{path}.directory: expected an absolute path of plain names, like "
                              f"/var/lib/mlready/capture, got {self.directory!r}")
        if self.url is not None:
            problem = url_problem(self.url)
            if problem:
                raise ConfigError(f"{path}.url: {problem}")
        if self.enabled and self.sink == "http" and self.url is None:
            raise ConfigError(f"{path}.url: the http sink needs the collector's URL")
        for key in ("redact", "drop"):
            if any(not name for name in getattr(self, key)):
                raise ConfigError(f"{path}.{key}: names must not be empty")


# -- feedback (issue 16: true labels that arrive late, joined with recent predictions; runtime/feedback.py) -----

@dataclass(frozen=True)
class FeedbackConfig:
    """The feedback API (``POST /v2/models/<name>/feedback``): recent predictions are held by request id, in a
    store bounded by rows and by age, so a true label posted later is joined with what the server answered and
    counted (confusion counts, error sums). A label for an id the store does not hold (never seen, evicted,
    expired) is counted, not an error."""

    enabled: bool = False
    max_rows: int = 100_000  # predicted rows held; the oldest predictions are evicted beyond this
    max_age_s: float = 3600.0  # a prediction older than this is evicted (its label then counts as unknown)
    max_items: int = 10_000  # request ids in one feedback POST

    def _check(self, path: str) -> None:
        if not 1 <= self.max_rows <= 10_000_000:
            raise ConfigError(f"{path}.max_rows: expected 1..10000000, got {self.max_rows}")
        if not 1 <= self.max_age_s <= 7 * 86400:
            raise ConfigError(f"{path}.max_age_s: expected 1..{7 * 86400} seconds, got {self.max_age_s}")
        if not 1 <= self.max_items <= 1_000_000:
            raise ConfigError(f"{path}.max_items: expected 1..1000000, got {self.max_items}")


def url_problem(url: str) -> str | None:
    """Why ``url`` is not an http(s) URL a collector can be reached at, or None."""
    from urllib.parse import urlsplit

    if len(url) > 2048 or any(c.isspace() or ord(c) < 0x20 for c in url):
        return f"expected an http:// or https:// URL without spaces, got {url[:80]!r}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        return f"not a valid URL ({exc}): {url[:80]!r}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"expected an http:// or https:// URL with a host, got {url[:80]!r}"
    return None


@dataclass(frozen=True)
class RuntimeConfig:
    model_repository: str
    models: dict[str, ModelConfig] = field(default_factory=dict)
    default_model: ModelConfig = field(default_factory=ModelConfig)
    host: str = "0.0.0.0"
    http_port: int = 8080
    grpc_port: int | None = 8081  # None disables gRPC
    metrics_port: int | None = None  # None: /metrics on the HTTP port only
    poll_interval_s: float = 5.0  # 0 disables repository polling
    threads: ThreadConfig = field(default_factory=ThreadConfig)
    providers: tuple[ProviderConfig, ...] = ()  # empty: CPUExecutionProvider only
    workers: int = 1
    max_body_bytes: int = 16 * 1024 * 1024
    auth: AuthConfig = field(default_factory=AuthConfig)
    drain_seconds: float = 30.0  # after SIGTERM: the most time given to in-flight requests
    shutdown_delay_seconds: float = 0.0  # after SIGTERM: keep serving (not ready) this long first
    cloud: CloudConfig = field(default_factory=CloudConfig)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = False
    grpc_limits: GrpcLimitsConfig = field(default_factory=GrpcLimitsConfig)
    http_limits: HttpLimitsConfig = field(default_factory=HttpLimitsConfig)
    capture: CaptureConfig = field(default_factory=CaptureConfig)
    feedback: FeedbackConfig = field(default_factory=FeedbackConfig)

    def _check(self, path: str = "") -> None:
        if not self.model_repository:
            raise ConfigError("model_repository: must not be empty")
        for name in ("http_port", "grpc_port", "metrics_port"):
            port = getattr(self, name)
            if port is not None and not 0 <= port <= 65535:
                raise ConfigError(f"{name}: expected a port 0..65535, got {port}")
        ports = [p for p in (self.http_port, self.grpc_port, self.metrics_port) if p]
        if len(ports) != len(set(ports)):
            raise ConfigError(f"http_port/grpc_port/metrics_port: ports must differ, got {ports}")
        if self.poll_interval_s < 0:
            raise ConfigError(f"poll_interval_s: expected a number >= 0, got {self.poll_interval_s}")
        _positive("", "workers", self.workers)
        _positive("", "max_body_bytes", self.max_body_bytes)
        for name in ("drain_seconds", "shutdown_delay_seconds"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}: expected a number >= 0, got {getattr(self, name)}")
        for name, model in self.models.items():
            if not name or "/" in name or name.startswith("."):
                raise ConfigError(f"models: invalid model name {name!r}")
            model._check(f"models.{name}")
        self.default_model._check("default_model")
        self.threads._check("threads")
        for i, provider in enumerate(self.providers):
            provider._check(f"providers[{i}]")
        self.auth._check("auth")
        self.cloud._check("cloud")
        self.grpc_limits._check("grpc_limits", self.max_body_bytes)
        self.http_limits._check("http_limits", self.max_body_bytes)
        self.capture._check("capture")
        self.feedback._check("feedback")
        if self.feedback.enabled and self.workers > 1:  # each process holds its own predictions
            raise ConfigError("feedback.enabled: needs workers: 1 (a label must reach the process that answered; "
                              f"got workers: {self.workers})")

    def model(self, name: str) -> ModelConfig:
        return self.models.get(name, self.default_model)

    def vertex_routes(self, environ: Mapping[str, str]) -> tuple[str | None, str | None]:
        """Vertex AI's ``AIP_HEALTH_ROUTE`` and ``AIP_PREDICT_ROUTE`` (when cloud.vertex is on), checked against
        every other route; ConfigError naming the keys when they collide."""
        if not self.cloud.vertex:
            return None, None
        health, predict = environ.get("AIP_HEALTH_ROUTE") or None, environ.get("AIP_PREDICT_ROUTE") or None
        check_routes(self.cloud, ("AIP_HEALTH_ROUTE", health), ("AIP_PREDICT_ROUTE", predict))
        return health, predict

    # -- (de)serialisation ------------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Any) -> RuntimeConfig:
        if not isinstance(data, dict):
            raise ConfigError(f"runtime config: expected an object, got {_tname(data)}")
        data = dict(data)
        kind = data.pop("kind", KIND)
        if kind != KIND:
            raise ConfigError(f"kind: expected {KIND!r}, got {kind!r}")
        version = data.pop("schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise ConfigError(f"schema_version: this runtime reads version {SCHEMA_VERSION}, got {version!r}")
        config = _convert(cls, data, "")
        config._check()
        return config

    def to_dict(self) -> dict[str, Any]:
        out = {"kind": KIND, "schema_version": SCHEMA_VERSION, **_plain(self)}
        return json.loads(json.dumps(out, sort_keys=True))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def load(cls, path: str | Path) -> RuntimeConfig:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the runtime config: {exc.strerror}") from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from exc
        try:
            return cls.from_dict(data)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None


# -- a small strict converter for the dataclasses above ------------------------------------------------------


def _positive(path: str, name: str, value: int) -> None:
    if value < 1:
        raise ConfigError(f"{_join(path, name)}: expected an integer >= 1, got {value}")


def _tname(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _convert(tp: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{path or 'config'}: expected an object, got {_tname(value)}")
        hints = typing.get_type_hints(tp)
        names = [f.name for f in dataclasses.fields(tp)]
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ConfigError(
                f"{_join(path, str(unknown[0]))}: unknown field (expected one of: {', '.join(names)})"
            )
        kwargs = {k: _convert(hints[k], v, _join(path, k)) for k, v in value.items()}
        try:
            return tp(**kwargs)
        except TypeError as exc:  # a required field is missing
            missing = [f.name for f in dataclasses.fields(tp) if f.name not in kwargs
                       and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
            raise ConfigError(f"{_join(path, missing[0]) if missing else path}: required field missing") from exc
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _convert(inner, value, path)
    if origin is Literal:
        choices = typing.get_args(tp)
        if value not in choices:
            raise ConfigError(f"{path}: expected one of {', '.join(map(repr, choices))}, got {value!r}")
        return value
    if origin is dict:
        _, vt = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected an object, got {_tname(value)}")
        return {str(k): _convert(vt, v, _join(path, str(k))) for k, v in value.items()}
    if origin is tuple:
        (it, _) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(f"{path}: expected a list, got {_tname(value)}")
        return tuple(_convert(it, v, f"{path}[{i}]") for i, v in enumerate(value))
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected a boolean, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{path}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: expected a string, got {value!r}")
        return value
    raise TypeError(f"unsupported config type {tp!r}")  # pragma: no cover - a bug in this module


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in sorted(obj.items())}
    if isinstance(obj, tuple):
        return [_plain(v) for v in obj]
    return obj
