"""Kustomize layout: ``k8s/base/`` (every object once) and one overlay per environment.

An overlay sets the namespace, an environment label (``labels:``, not the deprecated ``commonLabels``,
selectors untouched), the image (``images:``, with the digest from ``mlready image`` when known), the
resources patch, and either a fixed ``replicas:`` count or an HPA (never both: the base Deployment has no
``replicas`` so an HPA owns it without a fight on every apply).
"""

from __future__ import annotations

from typing import Any

from mlready.engine.serialize import dump_yaml
from mlready.generators._shared.k8s_autoscaling import autoscaler
from mlready.generators._shared.k8s_context import ENV_LABEL, BundleContext
from mlready.generators._shared.k8s_spec import EnvironmentSpec
from mlready.generators._shared.pod import CONTAINER, cpu_limit_skip, resources
from mlready.generators.k8s.folded import Folded

API = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}


def base_kustomization(files: list[str]) -> dict[str, Any]:
    return {**API, "resources": list(files)}


def canary_split(total: int, weight: int) -> tuple[int, int]:
    """(stable, canary) replicas for a replica-weighted canary: shares are only as fine as the pod count."""
    if weight <= 0:
        return total, 0
    if weight >= 100:
        return 0, total
    canary = min(total - 1, max(1, round(total * weight / 100))) if total > 1 else 1
    return max(total - canary, 1), canary


def _resources_patch(ctx: BundleContext, e: EnvironmentSpec) -> dict[str, Any]:
    """Strategic-merge patch from the base (which carries the dev resources) to this environment's.

    A null deletes the base's CPU limit; it is only written when the base has one. (The base's checkov
    reason for no CPU limit is removed by a JSON patch instead: kustomize keeps a null annotation as "null".)
    """
    base = ctx.cfg.environments.dev.resources
    res = resources(e.resources, ctx.gpu)
    annotations: dict[str, str | None] = dict(cpu_limit_skip(e.resources))
    if e.resources.cpu_limit is None and base.cpu_limit is not None:
        res["limits"] = {"cpu": None, **res["limits"]}
    meta: dict[str, Any] = {"name": ctx.name}
    if annotations:
        meta["annotations"] = annotations
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {"template": {"spec": {"containers": [{"name": CONTAINER, "resources": res}]}}},
    }


def overlay(ctx: BundleContext, env: str, namespace: str) -> dict[str, Any]:
    """Files of ``overlays/<env>/``: name -> document."""
    e = ctx.cfg.environments.get(env)
    strategy = ctx.cfg.rollout.strategy
    files: dict[str, Any] = {}
    k: dict[str, Any] = {**API, "namespace": namespace, "resources": ["../../base"]}
    if e.autoscaling.enabled:
        name, doc = autoscaler(ctx, e.autoscaling, namespace)
        files[name] = doc
        k["resources"].append(name)
    k["labels"] = [{"pairs": {ENV_LABEL: env}, "includeSelectors": False, "includeTemplates": True}]
    if strategy == "rolling":  # canary/shadow: two images of one repository, each written in its Deployment
        image: dict[str, Any] = {"name": ctx.image.repository, "newTag": ctx.image.tag}
        if ctx.image.digest:
            image["digest"] = Folded(ctx.image.digest)
        k["images"] = [image]
    replicas = []
    fixed = e.replicas or ctx.default_replicas
    total = e.autoscaling.min_replicas if e.autoscaling.enabled else fixed
    if strategy == "canary":
        stable, canary_n = canary_split(total, ctx.cfg.rollout.canary.weight)
        if not e.autoscaling.enabled:
            replicas.append({"name": ctx.name, "count": stable})
        replicas.append({"name": f"{ctx.name}-canary", "count": canary_n})
    elif strategy == "shadow":  # the shadow's own count: it takes a share of the stable pods' traffic, mirrored
        if not e.autoscaling.enabled:
            replicas.append({"name": ctx.name, "count": fixed})
        replicas.append({"name": f"{ctx.name}-shadow", "count": ctx.cfg.rollout.shadow.replicas})
    elif not e.autoscaling.enabled:
        replicas.append({"name": ctx.name, "count": fixed})
    if replicas:
        k["replicas"] = replicas
    target = {"kind": "Deployment", "labelSelector": f"app.kubernetes.io/name={ctx.name}"}
    k["patches"] = [{"patch": dump_yaml(_resources_patch(ctx, e)), "target": target}]
    if e.resources.cpu_limit is not None and ctx.cfg.environments.dev.resources.cpu_limit is None:
        drop = [{"op": "remove", "path": "/metadata/annotations/checkov.io~1skip2"}]
        k["patches"].append({"patch": dump_yaml(drop), "target": target})
    return {"kustomization.yaml": k, **files}
