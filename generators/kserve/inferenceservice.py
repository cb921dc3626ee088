"""The InferenceService: a custom-container predictor running the model-server image.

It reuses the k8s target's pod hardening (security contexts, probes, resources, ``/tmp`` emptyDir, the capture
files' claim) so both targets run the same pod; replicas come from ``target.kserve`` and the canary share from
``target.k8s.rollout`` (KServe keeps the previous revision and splits traffic by ``canaryTrafficPercent``).
"""

from __future__ import annotations

from typing import Any

from mlready.generators._shared.k8s_autoscaling import kserve_autoscaling
from mlready.generators._shared.k8s_context import BundleContext
from mlready.generators._shared.k8s_spec import ResourcesSpec
from mlready.generators._shared.pod import (
    CAPTURE_VOLUME,
    capture_claim,
    capture_volumes,
    container,
    gpu_scheduling,
    pod_security_context,
    tmp_volume,
)
from mlready.generators.kserve.spec import KServeSpec

CONTAINER = "kserve-container"  # the name KServe expects for a custom predictor container


def inference_service(ctx: BundleContext, cfg: KServeSpec, namespace: str, r: ResourcesSpec,
                      cpu_utilization: int = 70) -> dict[str, Any]:
    """``cpu_utilization``: the environment's target, for ``serving.autoscaling`` on cpu through KEDA."""
    keda = ctx.autoscaling.via == "keda"
    c = container(ctx, ctx.image.pinned, r)
    c["name"] = CONTAINER
    # KServe routes to a single container port: the HTTP one (v2 REST). Probes use it by number.
    c["ports"] = [{"name": "http1", "containerPort": ctx.ports.http, "protocol": "TCP"}]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        c[probe]["httpGet"]["port"] = ctx.ports.http
    # the config is baked in the image (no ConfigMap); capture files (serving.capture, file sink) go to their claim
    c["volumeMounts"] = [m for m in c["volumeMounts"] if m["name"] in ("tmp", CAPTURE_VOLUME)]
    predictor: dict[str, Any] = {"minReplicas": cfg.min_replicas, "maxReplicas": cfg.max_replicas}
    if keda:  # KServe's KEDA route: a ScaledObject on serving.autoscaling's signal, made by KServe
        predictor["autoScaling"] = kserve_autoscaling(ctx, cpu_utilization, namespace)
    else:
        predictor.update({"scaleMetric": cfg.scale_metric, "scaleTarget": cfg.scale_target})
    predictor["timeout"] = cfg.timeout_seconds
    rollout = ctx.cfg.rollout
    if rollout.strategy == "canary":
        predictor["canaryTrafficPercent"] = rollout.canary.weight
    predictor.update(
        {
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": ctx.grace_seconds,
            "securityContext": pod_security_context(ctx),
            "containers": [c],
            "volumes": [tmp_volume(ctx), *capture_volumes(ctx)],
            **gpu_scheduling(ctx),  # the GPU image: node selector, tolerations, runtime class
        }
    )
    annotations = {
        "serving.kserve.io/deploymentMode": cfg.deployment_mode,
        "serving.kserve.io/enable-prometheus-scraping": "true",
        "prometheus.io/port": str(ctx.ports.metrics or ctx.ports.http),
        "prometheus.io/path": "/metrics",
    }
    if cfg.mode == "standard":
        annotations["serving.kserve.io/autoscalerClass"] = "keda" if keda else "hpa"
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": ctx.meta(namespace=namespace, annotations=annotations),
        "spec": {"predictor": predictor},
    }


def capture_claim_in(ctx: BundleContext, namespace: str) -> dict[str, Any] | None:
    """The capture files' PersistentVolumeClaim in the InferenceService's namespace (the k8s bundle's claim, which
    a kustomize overlay places), or None without file capture. Knative mode needs the cluster's Knative features
    ``kubernetes.podspec-persistent-volume-claim`` and ``-write`` enabled (off by default)."""
    if not ctx.capture_dir:
        return None
    claim = capture_claim(ctx)
    claim["metadata"]["namespace"] = namespace
    return claim
