"""Assemble the bundle: file path -> (kind, document(s)). Pure data; the step turns it into artifacts."""

from __future__ import annotations

import hashlib
from typing import Any

from mlready.generators._shared import k8s_shadow
from mlready.generators._shared.k8s_autoscaling import INTERCEPTOR, adapter_values
from mlready.generators._shared.k8s_context import BundleContext, Image, env_namespace
from mlready.generators._shared.k8s_exposure import exposure_files
from mlready.generators._shared.k8s_spec import ENVIRONMENTS
from mlready.generators._shared.pod import capture_claim
from mlready.generators.k8s import kustomize, objects, workload
from mlready.generators.k8s.folded import Folded
from mlready.generators.k8s.monitoring import prometheus_rule, service_monitor

MANIFEST = "k8s-manifest"
KUSTOMIZATION = "kustomization"
ADAPTER_VALUES = "prometheus-adapter-values"


def base_files(ctx: BundleContext, runtime_config: str, rule_groups: list[dict[str, Any]]) -> dict[str, Any]:
    config_hash = hashlib.sha256(runtime_config.encode("utf-8")).hexdigest()[:16]
    dev = ctx.cfg.environments.dev.resources
    files: dict[str, Any] = {
        "serviceaccount.yaml": objects.service_account(ctx),
        "configmap.yaml": objects.config_map(ctx, runtime_config),
    }
    if ctx.capture_dir:  # serving.capture's files: on a volume that outlives the pods
        files["pvc-capture.yaml"] = capture_claim(ctx)
    rollout = ctx.cfg.rollout
    if rollout.strategy in ("canary", "shadow"):  # the stable version beside the one being built
        stable = rollout.canary.stable_version if rollout.strategy == "canary" else rollout.shadow.stable_version
        stable_image = Image(ctx.image.repository, stable or ctx.image.tag).ref
        new_image = Folded(ctx.image.pinned) if ctx.image.digest else ctx.image.ref
        files["deployment.yaml"] = workload.deployment(ctx, image=stable_image, config_hash=config_hash, r=dev)
        files[f"deployment-{rollout.strategy}.yaml"] = workload.deployment(
            ctx, track=rollout.strategy, image=new_image, config_hash=config_hash, r=dev
        )
    else:
        files["deployment.yaml"] = workload.deployment(ctx, config_hash=config_hash, r=dev)
    files["service.yaml"] = objects.service(ctx)
    files.update(k8s_shadow.shadow_files(ctx, files["service.yaml"]))
    to = INTERCEPTOR if ctx.autoscaling.via == "keda-http" else None
    files.update(exposure_files(ctx, k8s_shadow.mirror_filter(ctx), to))
    files["pdb.yaml"] = objects.pdb(ctx)
    if ctx.cfg.network_policy.enabled:
        files["networkpolicy.yaml"] = objects.network_policy(ctx)
    if ctx.monitoring:
        files["servicemonitor.yaml"] = service_monitor(ctx)
        if rule_groups:
            files["prometheusrule.yaml"] = prometheus_rule(ctx, rule_groups)
    return files


def bundle_files(
    ctx: BundleContext, runtime_config: str, current_env: str, current_ns: str | None,
    rule_groups: list[dict[str, Any]] | None = None,
) -> list[tuple[str, str, Any]]:
    """Every file of the bundle as (path under the build dir, kind, document)."""
    base = base_files(ctx, runtime_config, rule_groups or [])
    out = [(f"k8s/base/{name}", MANIFEST, doc) for name, doc in base.items()]
    out.append(("k8s/base/kustomization.yaml", KUSTOMIZATION, kustomize.base_kustomization(list(base))))
    for env in ENVIRONMENTS:
        ns = env_namespace(ctx, env, current_env, current_ns)
        for name, doc in kustomize.overlay(ctx, env, ns).items():
            kind = KUSTOMIZATION if name == "kustomization.yaml" else MANIFEST
            out.append((f"k8s/overlays/{env}/{name}", kind, doc))
    a = ctx.autoscaling
    scaling = any(ctx.cfg.environments.get(env).autoscaling.enabled for env in ENVIRONMENTS)
    if scaling and a.via == "hpa" and a.metric != "cpu":  # the custom metric the HPAs read
        out.append(("k8s/prometheus-adapter/values.yaml", ADAPTER_VALUES, adapter_values(a)))
    return out
