"""The optional Kubernetes features of issue 18, as spec sections: exposure (``target.k8s.exposure``), GPU
scheduling (``target.k8s.gpu``), shadow traffic (``target.k8s.rollout.shadow``) and autoscaling on the
server's own signals (``serving.autoscaling``, read by the k8s bundle).

Single-field rules (DNS names, ranges, thresholds > 0) are checked here so the error names the key; rules
across sections (keda-http needs a host and a Gateway, a shadow needs its stable version, ...) live in
:mod:`mlready.generators._shared.k8s_checks`.
"""

from __future__ import annotations

import re
from typing import Literal

from mlready.engine.plugin import Section
from mlready.engine.spec import check_dns1123
from pydantic import Field, field_validator

SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
#: a DNS name as Gateway API and Ingress take it: lowercase labels, optionally behind one leading "*."
HOST = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$")
#: a path prefix of plain segments (it also becomes an ingress-nginx regex, escaped)
PATH = re.compile(r"^/([A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*)?/?$")
#: an extended resource name such as nvidia.com/gpu or amd.com/gpu
RESOURCE = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?/[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$")


def check_subdomain(value: str | None) -> str | None:
    """A DNS-1123 subdomain (Secret and RuntimeClass names)."""
    if value is not None and (len(value) > 253 or not SUBDOMAIN.match(value)):
        raise ValueError(f"{value!r} is not a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', "
                         "starting and ending with a letter or digit)")
    return value


def check_host(value: str | None) -> str | None:
    if value is not None and (len(value) > 253 or not HOST.match(value)):
        raise ValueError(f"{value!r} is not a DNS name like 'churn.example.com' (lowercase, at least two labels, "
                         "optionally '*.' in front; no scheme, port or path)")
    return value


class GatewayRefSpec(Section):
    """The Gateway the routes attach to. With ``class_name`` set, mlready writes that Gateway itself (and
    terminates TLS there with ``exposure.tls_secret``); without, the routes attach to a shared Gateway the
    platform team runs, whose listeners hold the certificates."""

    name: str | None = Field(None, description="Gateway name (parentRefs); default with class_name: the app's name")
    namespace: str | None = Field(None, description="Gateway namespace; default: the app's namespace")
    section_name: str | None = Field(None, description="listener of the Gateway to attach to")
    class_name: str | None = Field(None, description="GatewayClass: mlready writes its own Gateway of that class")

    _names = field_validator("name", "namespace", "section_name")(
        classmethod(lambda cls, v: v if v is None else check_dns1123(v)))
    _class = field_validator("class_name")(classmethod(lambda cls, v: check_subdomain(v)))


class ExposureSpec(Section):
    """How clients outside the cluster reach the Service: Gateway API routes or an Ingress."""

    kind: Literal["none", "gateway", "ingress"] = Field(
        "none", description="gateway: HTTPRoute (+ GRPCRoute for the gRPC port); ingress: networking.k8s.io Ingress")
    host: str | None = Field(None, description="DNS name clients use; none: any host")
    path: str = Field("/", description="path prefix routed to the REST port")
    tls_secret: str | None = Field(None, description="Secret (kubernetes.io/tls) holding the certificate for host")
    request_timeout_seconds: int = Field(60, ge=1, le=3600, description="the whole request at the proxy")
    grpc: bool = Field(True, description="gateway: a GRPCRoute for the gRPC port (needs the host)")
    gateway: GatewayRefSpec = Field(default_factory=GatewayRefSpec)
    ingress_class: str | None = Field(None, description="ingressClassName; none: the cluster's default class")
    controller_namespace: str | None = Field(
        None, description="namespace of the gateway/ingress controller pods: allowed by the NetworkPolicy")

    _host = field_validator("host")(classmethod(lambda cls, v: check_host(v)))
    _secret = field_validator("tls_secret", "ingress_class")(classmethod(lambda cls, v: check_subdomain(v)))
    _ns = field_validator("controller_namespace")(classmethod(lambda cls, v: v if v is None else check_dns1123(v)))

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        if not PATH.match(v) or "/../" in v + "/" or "/./" in v + "/":
            raise ValueError(f"{v!r} is not a URL path like '/' or '/churn' (starts with '/'; segments of letters, "
                             "digits, '.', '_', '~' and '-'; no '.' or '..' segments)")
        return v


class TolerationSpec(Section):
    key: str = "nvidia.com/gpu"
    operator: Literal["Exists", "Equal"] = "Exists"
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = "NoSchedule"


class GpuSpec(Section):
    """Written when the image is the GPU variant (``target.docker.variant``: gpu, or auto with CUDA/TensorRT
    providers): the GPU limit, and where such pods may run."""

    count: int = Field(1, ge=1, le=64, description="GPUs per pod (a limit: Kubernetes does not overcommit them)")
    resource: str = Field("nvidia.com/gpu", description="extended resource name of the device plugin")
    node_selector: dict[str, str] = Field(default_factory=dict, description="e.g. {nvidia.com/gpu.present: 'true'}")
    tolerations: list[TolerationSpec] = Field(default_factory=lambda: [TolerationSpec()],
                                              description="default: tolerate the nvidia.com/gpu taint")
    runtime_class_name: str | None = Field(None, description="RuntimeClass of the NVIDIA container runtime, "
                                           "e.g. nvidia (none: the node's default runtime)")

    _class = field_validator("runtime_class_name")(classmethod(lambda cls, v: check_subdomain(v)))

    @field_validator("resource")
    @classmethod
    def _resource(cls, v: str) -> str:
        if not RESOURCE.match(v) or len(v) > 253:
            raise ValueError(f"{v!r} is not an extended resource name like 'nvidia.com/gpu'")
        return v


class ShadowSpec(Section):
    """A shadow rollout: the version being built runs beside ``stable_version`` and receives a mirrored share
    of its requests; the mirror's answers are discarded by the proxy."""

    percent: int = Field(10, ge=0, le=100, description="share of requests mirrored to the shadow, percent")
    via: Literal["gateway", "istio"] = Field(
        "gateway", description="gateway: HTTPRoute RequestMirror filter; istio: VirtualService mirror")
    stable_version: str | None = Field(None, description="image tag of the version answering the clients (required)")
    replicas: int = Field(1, ge=1, description="pods of the shadow Deployment")


class ServingAutoscalingSpec(Section):
    """``serving.autoscaling``: the signal the k8s bundle scales on. Which environments scale, and between how
    many pods, is ``target.k8s.environments.<env>.autoscaling``."""

    metric: Literal["cpu", "inflight", "queue_time", "rps"] = Field(
        "cpu", description="cpu utilisation; inflight requests per pod; mean queue time (s); requests/s per pod")
    via: Literal["hpa", "keda", "keda-http"] = Field(
        "hpa", description="hpa: HorizontalPodAutoscaler (custom metrics through prometheus-adapter); keda: a "
        "KEDA ScaledObject with a Prometheus trigger; keda-http: KEDA's HTTP add-on (scale to zero)")
    target: float | None = Field(None, gt=0, description="per-pod target of the metric (the KEDA threshold); "
                                 "default: 4 in-flight, 0.05 s queue time, 50 req/s; cpu: the env's utilisation")
    prometheus_url: str = Field("http://prometheus-operated.monitoring.svc:9090",
                                description="Prometheus KEDA queries (serverAddress)")
    window: Literal["30s", "1m", "2m", "5m"] = Field("1m", description="rate window of the queries")

    @field_validator("prometheus_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?", v):
            raise ValueError(f"{v!r} is not an http(s) URL like 'http://prometheus-operated.monitoring.svc:9090'")
        return v

    def threshold(self, cpu_utilization: int) -> float:
        if self.target is not None:
            return self.target
        return {"cpu": float(cpu_utilization), "inflight": 4.0, "queue_time": 0.05, "rps": 50.0}[self.metric]
