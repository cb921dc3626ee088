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


def check(spec: Any, cfg: K8sSpec, prefix: str = "target.k8s", needs_stable: bool = True) -> list[SpecProblem]:
    problems = _limits(cfg, prefix)
    if needs_stable and cfg.rollout.strategy == "canary" and not cfg.rollout.canary.stable_version:
        problems.append(
            SpecProblem(
                "", f"{prefix}.rollout.strategy",
                f"'canary' needs {prefix}.rollout.canary.stable_version: the image tag of the stable version "
                "to serve beside the canary",
            )
        )
    version = spec.project.version
    if not LABEL_VALUE.match(version) or len(version) > 63:
        problems.append(
            SpecProblem("", "project.version", f"{version!r} cannot be a Kubernetes label value or image tag")
        )
    for key, value in cfg.extra_labels.items():
        if not LABEL_KEY.match(key):
            problems.append(SpecProblem("", f"{prefix}.extra_labels", f"{key!r} is not a valid label key"))
        if not LABEL_VALUE.match(value) or len(value) > 63:
            problems.append(SpecProblem("", f"{prefix}.extra_labels.{key}", f"{value!r} is not a valid label value"))
    name = cfg.name or spec.project.name
    if len(name) > 50:  # "-canary" and "-config" suffixes must still fit in 63 characters
        problems.append(SpecProblem("", f"{prefix}.name", f"{name!r} is too long: at most 50 characters"))
    return problems
