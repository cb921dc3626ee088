"""The small objects around the Deployment: ServiceAccount, ConfigMap, Service, PDB, NetworkPolicy (the
autoscalers are in ``_shared/k8s_autoscaling.py``)."""

from __future__ import annotations

from typing import Any

from mlready.generators._shared.k8s_autoscaling import INTERCEPTOR
from mlready.generators._shared.k8s_context import CONFIG_FILE, BundleContext


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
    """ClusterIP over every track (stable and canary pods share the Service: replica-weighted canary); a
    shadow rollout's pods are not in it (they only see the mirrored requests, through their own Service)."""
    selector = ctx.service_selector()
    if ctx.cfg.rollout.strategy == "shadow":
        selector = ctx.selector("stable")
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": ctx.meta(),
        "spec": {
            "type": "ClusterIP",
            "selector": selector,
            "ports": [
                {"name": n, "port": port, "targetPort": n, "protocol": "TCP", **({"appProtocol": "grpc"} if n == "grpc" else {})}
                for n, port in ctx.ports.named()
            ],
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
    # keda-http: the requests come from KEDA's interceptor, in its own namespace
    interceptor = INTERCEPTOR["namespace"] if ctx.autoscaling.via == "keda-http" else None
    peers: list[dict[str, Any]] = [{"podSelector": {}}]
    peers += [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}
        for ns in [*np.allow_from_namespaces, *filter(None, [ctx.cfg.exposure.controller_namespace, interceptor])]
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
