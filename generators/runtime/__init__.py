"""The ``runtime`` generator: the ``serving`` section of deploy.yaml -> ``runtime/config.json``.

``runtime.config`` (after ``model.ingest``, which gives the served model's name through the
``model-signature`` artifact) writes the model server's config, kind ``runtime-config``, in the format of
:class:`mlready.runtime.config.RuntimeConfig` (documented in ``runtime/README.md``). Other generators read the
section's ``http_port``, ``grpc_port``, ``metrics_port``, ``replicas`` and ``drain_seconds``.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Literal

from mlready.engine.plugin import Artifact, Generator, Section, Step, StepContext
from mlready.generators._shared.k8s_options import ServingAutoscalingSpec
from mlready.generators.model.ids import INGEST_STEP, ONNX_MODEL, SIGNATURE
from mlready.generators.optimize.ids import OPTIMIZE_STEP, PROVIDERS_KIND
from mlready.generators.runtime.derive import runtime_section
from mlready.generators.runtime.ids import CONFIG_KIND, CONFIG_PATH, STEP_ID
from mlready.runtime.config import (
    CaptureConfig,
    FeedbackConfig,
    GrpcLimitsConfig,
    HttpLimitsConfig,
    ModelConfig,
    RuntimeConfig,
)
from pydantic import Field, field_validator

#: where the image puts the model repository (the docker generator copies the model to <this>/<name>/1/)
IMAGE_MODEL_REPOSITORY = "/opt/mlready/models"


class BatchingSpec(Section):
    enabled: bool = Field(True, description="merge concurrent requests into one onnxruntime call")
    max_batch_size: int = Field(32, ge=1, description="rows per merged call")
    max_queue_delay_ms: float = Field(0.0, ge=0, le=10_000, description="extra wait for more requests; 0 = greedy")
    queue_size: int = Field(1024, ge=1, description="requests waiting; a full queue answers 503 at once")


class VersionPolicySpec(Section):
    policy: Literal["latest", "all", "specific"] = "latest"
    num_versions: int = Field(1, ge=1)
    versions: list[int] = Field(default_factory=list, description="for policy 'specific'")


class ThreadsSpec(Section):
    intra_op: int = Field(0, ge=0, description="onnxruntime intra-op threads (0 = onnxruntime default)")
    inter_op: int = Field(0, ge=0)
    executor: int = Field(0, ge=0, description="inference thread pool size (0 = auto)")
    inline_below_ms: float = Field(0.3, ge=0, le=5, description="one-row calls faster than this run inline")


class AuthSpec(Section):
    token_env: str | None = Field(None, description="environment variable holding the bearer token")
    token_file: str | None = Field(None, description="mounted file holding the bearer token")
    open_health: bool = True
    open_metrics: bool = True


class CloudSpec(Section):
    sagemaker: bool = True
    vertex: bool = True
    azure_route: str | None = "/score"
    default_model: str | None = None


#: the transports' limits against slow and hostile clients: fields, defaults and bounds are the runtime's
if TYPE_CHECKING:  # built at import time: a type checker sees them as sections
    GrpcLimitsSpec = Section
    HttpLimitsSpec = Section
    CaptureSpec = Section
    FeedbackSpec = Section
else:
    GrpcLimitsSpec = runtime_section(GrpcLimitsConfig, "GrpcLimitsSpec")
    HttpLimitsSpec = runtime_section(HttpLimitsConfig, "HttpLimitsSpec")
    # prediction capture (issue 16): the runtime's checks (the collector URL among them) run at spec read
    CaptureSpec = runtime_section(CaptureConfig, "CaptureSpec")
    # the feedback API (issue 16 §3): recent predictions joined with true labels posted later
    FeedbackSpec = runtime_section(FeedbackConfig, "FeedbackSpec")


class ServingSpec(Section):
    http_port: int = Field(8080, ge=1, le=65535)
    grpc_port: int = Field(8081, ge=1, le=65535)
    metrics_port: int = Field(9090, ge=1, le=65535, description="Prometheus metrics (also on /metrics of http)")
    replicas: int = Field(1, ge=1)
    drain_seconds: float = Field(30.0, ge=0, description="after SIGTERM: the most time for in-flight requests")
    shutdown_delay_seconds: float = Field(0.0, ge=0, description="after SIGTERM: keep serving, not ready")
    workers: int = Field(1, ge=1, description="server processes sharing the ports")
    threads: ThreadsSpec = Field(default_factory=ThreadsSpec)
    batching: BatchingSpec = Field(default_factory=BatchingSpec)
    version_policy: VersionPolicySpec = Field(default_factory=VersionPolicySpec)
    labels: dict[str, int] = Field(default_factory=dict, description="version labels, e.g. {stable: 1}")
    poll_interval_s: float = Field(5.0, ge=0, description="repository polling for new versions; 0 = off")
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1)
    auth: AuthSpec = Field(default_factory=AuthSpec)
    cloud: CloudSpec = Field(default_factory=CloudSpec)
    autoscaling: ServingAutoscalingSpec = Field(default_factory=ServingAutoscalingSpec,
                                                description="the signal the k8s bundle scales on (not a runtime setting)")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = False
    host: str = Field(RuntimeConfig.host, description="address the server binds (all interfaces in a container)")
    warmup: bool = Field(ModelConfig.warmup, description="run the model once before reporting ready")
    grpc_limits: GrpcLimitsSpec = Field(default_factory=GrpcLimitsSpec)
    http_limits: HttpLimitsSpec = Field(default_factory=HttpLimitsSpec)
    capture: CaptureSpec = Field(default_factory=CaptureSpec)
    feedback: FeedbackSpec = Field(default_factory=FeedbackSpec)
    drift: bool = Field(True, description="count live rows per feature bin and predicted class against the training "
                        "reference (data.train, else data.eval), for the drift rules; off when the spec names no data")
    model_repository: str = Field(IMAGE_MODEL_REPOSITORY, description="model repository path inside the image: "
                                  "the image copies the models there and the runtime config (and the k8s "
                                  "ConfigMap replacing it) points there")

    @field_validator("model_repository")
    @classmethod
    def _abs(cls, v: str) -> str:  # it becomes a Dockerfile COPY destination: plain names only
        if not re.fullmatch(r"(/[A-Za-z0-9._-]+)+", v) or "/.." in v:
            raise ValueError(f"{v!r}: expected an absolute path of plain names, like /opt/mlready/models")
        return v


def registry_alias_label(source: str, version: int) -> dict[str, int]:
    """Version labels follow Model Registry aliases: a model built from ``models:/<name>@<alias>`` is served
    with the label ``<alias>`` on its version, so ``/v1/models/<m>/labels/champion`` reaches whatever
    ``mlready promote ... --alias champion`` pointed at when the image was built."""
    m = re.match(r"^models:/[^/@]+@(?P<alias>[A-Za-z0-9_-]+)$", source)
    return {m["alias"]: version} if m else {}


def runtime_config(serving: ServingSpec, model_name: str, providers: list[dict[str, Any]] | None = None,
                   extra_labels: dict[str, int] | None = None, drift: dict[str, Any] | None = None) -> dict[str, Any]:
    """The runtime-config document (validated by the runtime's own strict loader). ``providers``: the
    execution providers from the optimize step's ``model/providers.json``, when it ran; ``extra_labels``:
    labels the spec's own ``serving.labels`` do not override (registry aliases); ``drift``: the training
    reference for live drift counting (:mod:`.drift_reference`)."""

    data = {
        "model_repository": serving.model_repository,
        "models": {model_name: {
            "version_policy": serving.version_policy.model_dump(mode="json"),
            "labels": {**(extra_labels or {}), **dict(serving.labels)},
            "batching": serving.batching.model_dump(mode="json"),
            "warmup": serving.warmup,
            **({"drift": drift} if drift is not None else {}),
        }},
        "host": serving.host,
        "http_port": serving.http_port,
        "grpc_port": serving.grpc_port,
        "metrics_port": serving.metrics_port,
        "poll_interval_s": serving.poll_interval_s,
        "threads": serving.threads.model_dump(mode="json"),
        "providers": [{"name": p["name"], "options": dict(p.get("options", {}))} for p in providers or []],
        "workers": serving.workers,
        "max_body_bytes": serving.max_body_bytes,
        "auth": serving.auth.model_dump(mode="json"),
        "drain_seconds": serving.drain_seconds,
        "shutdown_delay_seconds": serving.shutdown_delay_seconds,
        "cloud": serving.cloud.model_dump(mode="json"),
        "log_level": serving.log_level,
        "access_log": serving.access_log,
        "grpc_limits": serving.grpc_limits.model_dump(mode="json"),
        "http_limits": serving.http_limits.model_dump(mode="json"),
        "capture": serving.capture.model_dump(mode="json"),
        "feedback": serving.feedback.model_dump(mode="json"),
    }
    return RuntimeConfig.from_dict(data).to_dict()


def _check_capture_names(serving: ServingSpec, signature: dict[str, Any], ctx: StepContext) -> None:
    """``serving.capture.redact`` / ``drop`` name features or outputs of the served model: a misspelt name
    would leave the field it meant to hide in every capture record (known once the model's signature is)."""
    import difflib

    from mlready.engine.errors import StepError

    capture = serving.capture
    names = [*(signature.get("feature_names") or []), *(t["name"] for t in signature.get("inputs", [])),
             *(t["name"] for t in signature.get("outputs", []))]
    for key in ("redact", "drop"):
        for given in getattr(capture, key):
            if given not in names:
                close = difflib.get_close_matches(given, names, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise StepError(f"{ctx.where(f'serving.capture.{key}')} serving.capture.{key}: {given!r} is no "
                                f"feature or output of the model{hint}; it has: {', '.join(names[:40])}"
                                f"{', …' if len(names) > 40 else ''}".lstrip())


def build_config(ctx: StepContext) -> list[Artifact]:
    serving: ServingSpec = ctx.spec.section(RuntimeGenerator.section)
    signature = json.loads(ctx.artifact(SIGNATURE).read_text())
    _check_capture_names(serving, signature, ctx)
    name = signature.get("name") or ctx.spec.model_name
    providers = None
    for art in ctx.artifacts(PROVIDERS_KIND):  # the optimize step's model/providers.json, when it ran
        providers = json.loads(art.read_text()).get("providers")
    labels = registry_alias_label(ctx.spec.model.source, ctx.spec.model.version)
    drift = None
    if serving.drift:
        from mlready.generators.runtime.drift_reference import drift_reference

        ctx.progress("binning the training reference for live drift counting", None)
        drift = drift_reference(ctx.artifact(ONNX_MODEL).read_bytes(), signature, ctx.spec, ctx.resolve)
    return [Artifact.json(CONFIG_PATH, CONFIG_KIND, runtime_config(serving, name, providers, labels, drift))]


class RuntimeGenerator(Generator[ServingSpec]):
    name = "runtime"
    section = "serving"
    config_model = ServingSpec
    description = "The model server's config (runtime/config.json) from the serving section"

    def validate(self, spec: Any) -> list[Any]:
        from mlready.engine.errors import SpecProblem
        from mlready.runtime.config import ConfigError, RuntimeConfig

        serving = self.config(spec)
        try:
            config = RuntimeConfig.from_dict(runtime_config(serving, "model"))
        except ConfigError as exc:
            field, _, message = str(exc).partition(": ")
            field = field.replace("models.model.", "")
            return [SpecProblem("", f"serving.{field}", message or str(exc))]
        vertex = spec.optional_section("target.vertex")
        if vertex is not None and vertex.enabled:  # Vertex AI hands these routes to the server as AIP_*_ROUTE
            keys = {"AIP_HEALTH_ROUTE": "target.vertex.health_route",
                    "AIP_PREDICT_ROUTE": "target.vertex.predict_route"}
            try:
                config.vertex_routes({"AIP_HEALTH_ROUTE": vertex.health_route,
                                      "AIP_PREDICT_ROUTE": vertex.predict_route})
            except ConfigError as exc:
                field, _, message = str(exc).partition(": ")
                for env, key in keys.items():
                    message = message.replace(f"taken by {env}", f"taken by {key}")
                return [SpecProblem("", keys.get(field, f"serving.{field}"), message)]
        return []

    def steps(self, spec: Any) -> list[Step]:
        from mlready.generators._shared.facts import optimization_active

        deps = (INGEST_STEP, OPTIMIZE_STEP) if optimization_active(spec) else (INGEST_STEP,)
        serving = self.config(spec)
        drift_data = [p for p in (spec.data.train, spec.data.eval) if p] if serving.drift else []
        drift_reads = ("data", "readiness.drift", "model.task") if serving.drift else ()
        return [Step(
            id=STEP_ID,
            run=build_config,
            deps=deps,
            config={"serving": serving,
                    "labels_from": registry_alias_label(spec.model.source, spec.model.version)},
            reads=("model.source", "model.version", "model.name", "project.name", *drift_reads),
            inputs=tuple(spec.resolve(p) for p in drift_data[:1]),
            header=False,
            description="write the model server's runtime config",
        )]
