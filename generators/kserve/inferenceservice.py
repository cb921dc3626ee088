"""The InferenceService: a custom-container predictor running the model-server image.

It reuses the k8s target's pod hardening (security contexts, probes, resources, ``/tmp`` emptyDir) so both
targets run the same pod; replicas come from ``target.kserve`` and the canary share from
``target.k8s.rollout`` (KServe keeps the previous revision and splits traffic by ``canaryTrafficPercent``).
"""

from __future__ import annotations

from typing import Any

from mlready.generators._shared.k8s_autoscaling import kserve_autoscaling
from mlready.generators._shared.k8s_context import BundleContext
from mlready.generators._shared.k8s_spec import ResourcesSpec
from mlready.generators._shared.pod import container, gpu_scheduling, pod_security_context, tmp_volume
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
    c["volumeMounts"] = [m for m in c["volumeMounts"] if m["name"] == "tmp"]  # config is baked in the image
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
            "volumes": [tmp_volume(ctx)],
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
