"""The small objects around the Deployment: ServiceAccount, ConfigMap, Service, HPA, PDB, NetworkPolicy."""

from __future__ import annotations

from typing import Any

from mlready.generators._shared.k8s_context import CONFIG_FILE, BundleContext
from mlready.generators._shared.k8s_spec import AutoscalingSpec


def service_account(ctx: BundleContext) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": ctx.meta(),
        "automountServiceAccountToken": False,
    }


def config_map(ctx: BundleContext, runtime_config: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": ctx.meta(f"{ctx.name}-config"),
        "data": {CONFIG_FILE: runtime_config},
    }


def service(ctx: BundleContext) -> dict[str, Any]:
    """ClusterIP over every track (stable and canary pods share the Service: replica-weighted canary)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": ctx.meta(),
        "spec": {
            "type": "ClusterIP",
            "selector": ctx.service_selector(),
            "ports": [
                {"name": n, "port": port, "targetPort": n, "protocol": "TCP", **({"appProtocol": "grpc"} if n == "grpc" else {})}
                for n, port in ctx.ports.named()
            ],
        },
    }


def hpa(ctx: BundleContext, a: AutoscalingSpec, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": ctx.meta(namespace=namespace),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": ctx.name},
            "minReplicas": a.min_replicas,
            "maxReplicas": a.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": a.cpu_utilization},
                    },
                }
            ],
            "behavior": {
                "scaleDown": {
                    "stabilizationWindowSeconds": a.scale_down_window_seconds,
                    "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}],
                },
                "scaleUp": {
                    "stabilizationWindowSeconds": 0,
                    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 30}],
                },
            },
        },
    }


def pdb(ctx: BundleContext) -> dict[str, Any]:
    """``maxUnavailable: 1`` keeps node drains possible even at one replica (``minAvailable: 1`` would not)."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": ctx.meta(),
        "spec": {
            "maxUnavailable": 1,
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
            "selector": {"matchLabels": ctx.service_selector()},
        },
    }


def network_policy(ctx: BundleContext) -> dict[str, Any]:
    np = ctx.cfg.network_policy
    serving_ports = [{"protocol": "TCP", "port": n} for n, _ in ctx.ports.named() if n != "metrics"]
    peers: list[dict[str, Any]] = [{"podSelector": {}}]
    peers += [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}} for ns in np.allow_from_namespaces
    ]
    ingress: list[dict[str, Any]] = [{"from": peers, "ports": serving_ports}]
    ingress.append(
        {
            "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": np.monitoring_namespace}}}],
            "ports": [{"protocol": "TCP", "port": ctx.ports.metrics_name}],
        }
    )
    spec: dict[str, Any] = {
        "podSelector": {"matchLabels": ctx.service_selector()},
        "policyTypes": ["Ingress", "Egress"] if np.egress_dns_only else ["Ingress"],
        "ingress": ingress,
    }
    if np.egress_dns_only:
        spec["egress"] = [
            {
                "to": [{"namespaceSelector": {}}],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
            }
        ]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": ctx.meta(), "spec": spec}
