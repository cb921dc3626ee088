"""The ``target.k8s`` section: what the Kubernetes bundle is built from, and the pod (resources, probes,
rollout, names) the KServe InferenceService runs too.

Defaults are the production-ready choice; every per-environment knob (replicas, resources, autoscaling,
namespace) lives under ``environments.{dev,staging,prod}`` because all three overlays are always written.
Single-field rules (quantities, DNS-1123 names, ranges) are checked here so the error names the key;
cross-field rules (HPA min <= max, requests <= limits) live in :mod:`mlready.generators._shared.k8s_checks`.
"""

from __future__ import annotations

from typing import Literal

from mlready.engine.plugin import Section
from mlready.engine.spec import check_dns1123
from mlready.generators._shared.facts import check_repository
from mlready.generators._shared.k8s_options import ExposureSpec, GpuSpec, ShadowSpec
from pydantic import Field, field_validator

ENVIRONMENTS = ("dev", "staging", "prod")


def check_quantity(value: str | None) -> str | None:
    """A Kubernetes resource quantity ('500m', '2', '1Gi', '1.5'); ``2 cores`` and '1 GB' are errors."""
    if value is None:
        return None
    from mlready.generators._shared.quantity import parse_quantity

    text = str(value)
    try:
        amount = parse_quantity(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a Kubernetes quantity (use e.g. '500m' or '2' for cpu, '512Mi' or '1Gi' for memory)"
        ) from None
    if amount <= 0:
        raise ValueError(f"{text!r}: a resource quantity must be greater than zero")
    return text


class ResourcesSpec(Section):
    """Container resources. ``cpu_limit: null`` leaves the CPU unthrottled; say why in ``cpu_limit_off_reason``."""

    cpu: str = Field("250m", description="cpu request")
    memory: str = Field("512Mi", description="memory request")
    ephemeral_storage: str = Field("256Mi", description="ephemeral-storage request")
    cpu_limit: str | None = Field("1", description="cpu limit; null for none (see cpu_limit_off_reason)")
    memory_limit: str = Field("1Gi", description="memory limit (an OOM kill beats a node under pressure)")
    ephemeral_storage_limit: str = "1Gi"
    cpu_limit_off_reason: str = Field(
        "CFS throttling hurts inference latency",
        max_length=40,
        description="why there is no CPU limit, recorded as the checkov skip reason when cpu_limit is null",
    )

    _quantities = field_validator(
        "cpu", "memory", "ephemeral_storage", "cpu_limit", "memory_limit", "ephemeral_storage_limit"
    )(classmethod(lambda cls, v: check_quantity(v)))


class AutoscalingSpec(Section):
    """Autoscaling of this environment (the signal: ``serving.autoscaling``); when enabled it owns the replica
    count. ``min_replicas: 0`` (scale to zero) needs ``serving.autoscaling.via: keda-http``."""

    enabled: bool = False
    min_replicas: int = Field(2, ge=0)
    max_replicas: int = Field(5, ge=1)
    cpu_utilization: int = Field(70, ge=1, le=100, description="target average CPU utilisation, percent")
    scale_down_window_seconds: int = Field(300, ge=0, le=3600)


class EnvironmentSpec(Section):
    """One overlay: ``overlays/<env>/``."""

    namespace: str | None = Field(None, description="default: '<project>-<env>' (env.namespace wins for the current env)")
    replicas: int | None = Field(None, ge=1, description="replicas when autoscaling is off; default: serving.replicas")
    resources: ResourcesSpec = Field(default_factory=ResourcesSpec)
    autoscaling: AutoscalingSpec = Field(default_factory=AutoscalingSpec)

    _ns = field_validator("namespace")(classmethod(lambda cls, v: v if v is None else check_dns1123(v)))


def _default_environments() -> dict[str, EnvironmentSpec]:
    return {
        "dev": EnvironmentSpec(),
        "staging": EnvironmentSpec(autoscaling=AutoscalingSpec(enabled=True, min_replicas=2, max_replicas=4)),
        "prod": EnvironmentSpec(
            resources=ResourcesSpec(cpu="500m", memory="1Gi", cpu_limit="2", memory_limit="2Gi"),
            autoscaling=AutoscalingSpec(enabled=True, min_replicas=3, max_replicas=10),
        ),
    }


class EnvironmentsSpec(Section):
    dev: EnvironmentSpec = Field(default_factory=lambda: _default_environments()["dev"])
    staging: EnvironmentSpec = Field(default_factory=lambda: _default_environments()["staging"])
    prod: EnvironmentSpec = Field(default_factory=lambda: _default_environments()["prod"])

    def get(self, env: str) -> EnvironmentSpec:
        return getattr(self, env)


class CanarySpec(Section):
    """The canary half of a canary rollout: the new version takes ``weight`` percent of the traffic."""

    weight: int = Field(10, ge=0, le=100, description="percent of traffic (and replicas) for the canary")
    stable_version: str | None = Field(
        None, description="image tag of the stable version served beside the canary (required for canary)"
    )


class RolloutSpec(Section):
    """How a new version replaces the old one: ``rolling`` (default), ``canary`` or ``shadow`` (see README)."""

    strategy: Literal["rolling", "canary", "shadow"] = "rolling"
    canary: CanarySpec = Field(default_factory=CanarySpec)
    shadow: ShadowSpec = Field(default_factory=ShadowSpec)
    max_surge: str = Field("25%", description="RollingUpdate maxSurge (maxUnavailable is always 0)")
    revision_history: int = Field(10, ge=1, le=100, description="ReplicaSets kept for `mlready rollback`")
    progress_deadline_seconds: int = Field(600, ge=30)


class ProbesSpec(Section):
    """Probe timings. The startup probe allows ``startup_seconds`` for model load and warm-up."""

    startup_seconds: int = Field(300, ge=10, le=3600)
    period_seconds: int = Field(10, ge=1)
    timeout_seconds: int = Field(2, ge=1)
    readiness_failures: int = Field(3, ge=1)
    liveness_failures: int = Field(3, ge=1)


class NetworkPolicySpec(Section):
    """Ingress to the serving ports from the same namespace and ``allow_from_namespaces``; metrics from
    ``monitoring_namespace``; egress limited to DNS (the model is baked into the image)."""

    enabled: bool = True
    allow_from_namespaces: list[str] = Field(default_factory=list)
    monitoring_namespace: str = "monitoring"
    egress_dns_only: bool = True

    @field_validator("allow_from_namespaces")
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
        return [check_dns1123(n) for n in v]

    _mon = field_validator("monitoring_namespace")(classmethod(lambda cls, v: check_dns1123(v)))


class K8sSpec(Section):
    """``target.k8s``: the Kubernetes bundle (kustomize base + dev/staging/prod overlays)."""

    enabled: bool = False
    name: str | None = Field(None, description="object name; default: project.name")
    image: str | None = Field(None, description="image repository override (default: the Docker target's)")
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = "Always"
    environments: EnvironmentsSpec = Field(default_factory=EnvironmentsSpec)
    rollout: RolloutSpec = Field(default_factory=RolloutSpec)
    probes: ProbesSpec = Field(default_factory=ProbesSpec)
    network_policy: NetworkPolicySpec = Field(default_factory=NetworkPolicySpec)
    pre_stop_seconds: int = Field(5, ge=0, le=120, description="preStop pause so endpoints drop the pod first")
    run_as_user: int | None = Field(None, ge=10000, description="UID (>= 10000); default: target.docker.uid")
    run_as_group: int | None = Field(None, ge=10000, description="GID (>= 10000); default: target.docker.gid")
    tmp_size: str = Field("256Mi", description="size limit of the emptyDir mounted at /tmp")
    service_monitor: Literal["auto", "on", "off"] = Field(
        "auto", description="ServiceMonitor + PrometheusRule; auto: when monitoring is enabled"
    )
    extra_labels: dict[str, str] = Field(default_factory=dict, description="added to every object's labels")
    exposure: ExposureSpec = Field(default_factory=ExposureSpec)
    gpu: GpuSpec = Field(default_factory=GpuSpec)

    _name = field_validator("name")(classmethod(lambda cls, v: v if v is None else check_dns1123(v)))
    _image = field_validator("image")(classmethod(lambda cls, v: check_repository(v)))
    _tmp = field_validator("tmp_size")(classmethod(lambda cls, v: check_quantity(v)))
