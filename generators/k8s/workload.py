"""The Deployment: the model server's pod (``mlready.generators._shared.pod``: probes, preStop pause,
hardening, ``/tmp`` volume — the KServe InferenceService runs the same pod) wrapped with what only a k8s
Deployment has: the ConfigMap volume, no service-account token, a grace period covering the preStop pause plus
the server's own drain, zone/host spreading, the rolling-update strategy and checkov's skip reasons.
"""

from __future__ import annotations

from typing import Any

from mlready.generators._shared.k8s_context import TRACK_LABEL, BundleContext
from mlready.generators._shared.k8s_spec import ResourcesSpec
from mlready.generators._shared.pod import (
    capture_volumes,
    container,
    cpu_limit_skip,
    gpu_scheduling,
    pod_security_context,
    tmp_volume,
)


def _scheduling(ctx: BundleContext, track: str) -> dict[str, Any]:
    match = {"matchLabels": ctx.selector(track)}
    return {
        "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": match}
            for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
        ],
        "affinity": {
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 100,
                        "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname", "labelSelector": match},
                    }
                ]
            }
        },
    }


def checkov_skips(ctx: BundleContext, r: ResourcesSpec) -> dict[str, str]:
    """Deliberate deviations from checkov's defaults, each with its reason (checkov reads these).

    ``skip1`` is the image digest (pinned by kustomize ``images:``, which checkov does not follow), ``skip2``
    the CPU limit when it is off. Reasons stay short: yamllint's default 80-column limit applies.
    """
    why = "digest pinned by overlay images:" if ctx.image.digest else "digest unknown: run mlready image"
    out = {"checkov.io/skip1": f"CKV_K8S_43={why}"}
    out.update(cpu_limit_skip(r))
    return out


def deployment(
    ctx: BundleContext, *, track: str = "stable", image: str | None = None, replicas: int | None = None,
    config_hash: str = "", r: ResourcesSpec | None = None,
) -> dict[str, Any]:
    """``replicas`` is None when an HPA owns the count (the overlays decide per environment)."""
    r = r or ctx.cfg.environments.dev.resources
    name = ctx.name if track == "stable" else f"{ctx.name}-{track}"
    labels = {**ctx.labels, TRACK_LABEL: track}
    rollout = ctx.cfg.rollout
    spec: dict[str, Any] = {}
    if replicas is not None:
        spec["replicas"] = replicas
    annotations = {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(ctx.ports.metrics or ctx.ports.http),
        "prometheus.io/path": "/metrics",
        "mlready.io/config-hash": config_hash,
    }
    spec.update(
        {
            "revisionHistoryLimit": rollout.revision_history,
            "progressDeadlineSeconds": rollout.progress_deadline_seconds,
            "minReadySeconds": 5,
            "selector": {"matchLabels": ctx.selector(track)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": rollout.max_surge},
            },
            "template": {
                "metadata": {"labels": labels, "annotations": annotations},
                "spec": {
                    "serviceAccountName": ctx.name,
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": ctx.grace_seconds,
                    "securityContext": pod_security_context(ctx),
                    "containers": [container(ctx, image or ctx.image.ref, r)],
                    "volumes": [
                        tmp_volume(ctx),
                        {"name": "config", "configMap": {"name": f"{ctx.name}-config"}},
                        *capture_volumes(ctx),
                    ],
                    **_scheduling(ctx, track),
                    **gpu_scheduling(ctx),
                },
            },
        }
    )
    meta = ctx.meta(name)
    meta["labels"] = labels
    meta["annotations"] = checkov_skips(ctx, r)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec}
