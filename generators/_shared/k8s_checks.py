"""Cross-field checks of ``target.k8s`` (single-field ones live on the section model).

Each problem names the exact key, so ``deploy.yaml:NN target.k8s.environments.prod.autoscaling.min_replicas``
points at the line to fix. They run before anything is written.
"""

from __future__ import annotations

import re
from typing import Any

from mlready.engine.errors import SpecProblem
from mlready.generators._shared.k8s_spec import ENVIRONMENTS, K8sSpec
from mlready.generators._shared.quantity import parse_quantity

LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


def _limits(cfg: K8sSpec, prefix: str) -> list[SpecProblem]:
    out = []
    for env in ENVIRONMENTS:
        e = cfg.environments.get(env)
        base = f"{prefix}.environments.{env}"
        a = e.autoscaling
        if a.enabled and a.min_replicas > a.max_replicas:
            out.append(
                SpecProblem(
                    "", f"{base}.autoscaling.min_replicas",
                    f"the HPA minimum ({a.min_replicas}) is above its maximum ({a.max_replicas})",
                )
            )
        r = e.resources
        pairs = [("cpu", r.cpu, r.cpu_limit), ("memory", r.memory, r.memory_limit),
                 ("ephemeral_storage", r.ephemeral_storage, r.ephemeral_storage_limit)]
        for req_key, req, lim in pairs:
            if lim is not None and parse_quantity(req) > parse_quantity(lim):
                out.append(
                    SpecProblem("", f"{base}.resources.{req_key}", f"the request {req!r} exceeds the limit {lim!r}")
                )
    return out


def _autoscaling(spec: Any, cfg: K8sSpec, prefix: str) -> list[SpecProblem]:
    """``serving.autoscaling`` against what the bundle can build from it."""
    a = spec.section("serving").autoscaling
    out = []
    for env in ENVIRONMENTS:
        e = cfg.environments.get(env).autoscaling
        if e.enabled and e.min_replicas == 0 and a.via != "keda-http":
            out.append(SpecProblem("", f"{prefix}.environments.{env}.autoscaling.min_replicas",
                                   "0 (scale to zero) needs serving.autoscaling.via: keda-http, whose interceptor "
                                   "holds requests while a pod starts"))
    if a.via == "keda-http":
        if a.metric not in ("inflight", "rps"):
            out.append(SpecProblem("", "serving.autoscaling.metric", f"{a.metric!r} is not a KEDA HTTP add-on "
                                   "signal; keda-http scales on inflight (concurrency) or rps (request rate)"))
        if cfg.exposure.kind != "gateway":
            out.append(SpecProblem("", f"{prefix}.exposure.kind", "serving.autoscaling.via keda-http needs "
                                   "'gateway': requests must pass KEDA's interceptor in its namespace, which an "
                                   "HTTPRoute can reach and an Ingress cannot"))
        if not cfg.exposure.host:
            out.append(SpecProblem("", f"{prefix}.exposure.host", "serving.autoscaling.via keda-http routes "
                                   "by host: give the DNS name clients use"))
    if a.metric != "cpu" and cfg.service_monitor == "off":
        out.append(SpecProblem("", f"{prefix}.service_monitor", f"serving.autoscaling.metric {a.metric!r} "
                               "queries the server's metrics by the labels the ServiceMonitor gives them; "
                               "use 'auto' or 'on'"))
    return out


def _exposure(cfg: K8sSpec, prefix: str) -> list[SpecProblem]:
    e = cfg.exposure
    if e.kind == "gateway" and not e.gateway.name and not e.gateway.class_name:
        return [SpecProblem("", f"{prefix}.exposure.gateway.name", "name the shared Gateway the routes attach to, "
                            f"or set {prefix}.exposure.gateway.class_name to have mlready write one")]
    if e.kind == "gateway" and e.tls_secret and not e.gateway.class_name:
        return [SpecProblem("", f"{prefix}.exposure.tls_secret", "TLS is terminated by a Gateway listener: set "
                            f"{prefix}.exposure.gateway.class_name to have mlready write the Gateway, or put the "
                            "certificate on the shared Gateway's listener and drop tls_secret")]
    return []


def _labels(labels: dict[str, str], key: str) -> list[SpecProblem]:
    out = []
    for k, v in labels.items():
        if not LABEL_KEY.match(k):
            out.append(SpecProblem("", key, f"{k!r} is not a valid label key"))
        if not LABEL_VALUE.match(v) or len(v) > 63:
            out.append(SpecProblem("", f"{key}.{k}", f"{v!r} is not a valid label value"))
    return out


def _gpu(cfg: K8sSpec, prefix: str) -> list[SpecProblem]:
    out = _labels(cfg.gpu.node_selector, f"{prefix}.gpu.node_selector")
    for i, tol in enumerate(cfg.gpu.tolerations):
        if not LABEL_KEY.match(tol.key):
            out.append(SpecProblem("", f"{prefix}.gpu.tolerations.{i}.key", f"{tol.key!r} is not a valid taint key"))
        if tol.operator == "Exists" and tol.value:
            out.append(SpecProblem("", f"{prefix}.gpu.tolerations.{i}.value",
                                   "operator 'Exists' matches any value: drop the value, or use operator 'Equal'"))
        elif tol.value and (not LABEL_VALUE.match(tol.value) or len(tol.value) > 63):
            out.append(SpecProblem("", f"{prefix}.gpu.tolerations.{i}.value",
                                   f"{tol.value!r} is not a valid taint value"))
    return out


def check(spec: Any, cfg: K8sSpec, prefix: str = "target.k8s", needs_stable: bool = True) -> list[SpecProblem]:
    problems = _limits(cfg, prefix) + _exposure(cfg, prefix) + _gpu(cfg, prefix)
    if needs_stable:
        problems += _autoscaling(spec, cfg, prefix)
    if needs_stable and cfg.rollout.strategy == "shadow" and not cfg.rollout.shadow.stable_version:
        problems.append(
            SpecProblem(
                "", f"{prefix}.rollout.strategy",
                f"'shadow' needs {prefix}.rollout.shadow.stable_version: the image tag of the version that keeps "
                "answering the clients while the new one receives mirrored requests",
            )
        )
    if needs_stable and cfg.rollout.strategy == "canary" and not cfg.rollout.canary.stable_version:
        problems.append(
            SpecProblem(
                "", f"{prefix}.rollout.strategy",
                f"'canary' needs {prefix}.rollout.canary.stable_version: the image tag of the stable version "
                "to serve beside the canary",
            )
        )
    version = spec.project.version
    if not version or not LABEL_VALUE.match(version) or len(version) > 63:  # the image tag: never empty
        problems.append(
            SpecProblem("", "project.version", f"{version!r} cannot be a Kubernetes label value or image tag")
        )
    problems += _labels(cfg.extra_labels, f"{prefix}.extra_labels")
    name = cfg.name or spec.project.name
    if len(name) > 50:  # "-canary" and "-config" suffixes must still fit in 63 characters
        problems.append(SpecProblem("", f"{prefix}.name", f"{name!r} is too long: at most 50 characters"))
    return problems
