"""Prometheus Operator objects for the bundle (when monitoring is on): a ServiceMonitor on the metrics port,
and a PrometheusRule whose groups come from the monitoring generator (one source for alert rules)."""

from __future__ import annotations

from typing import Any

from mlready.generators._shared.k8s_context import BundleContext


def service_monitor(ctx: BundleContext) -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": ctx.meta(),
        "spec": {
            "selector": {"matchLabels": ctx.service_selector()},
            "endpoints": [{"port": ctx.ports.metrics_name, "path": "/metrics", "interval": "30s", "scheme": "http"}],
        },
    }


def prometheus_rule(ctx: BundleContext, groups: list[dict[str, Any]]) -> dict[str, Any]:
    """The monitoring generator's alert rule groups (:func:`alert_rule_groups`), as a PrometheusRule."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": ctx.meta(),
        "spec": {"groups": groups},
    }
