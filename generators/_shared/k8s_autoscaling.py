"""Autoscaling on the server's own signals (``serving.autoscaling``), per environment that enables it:

- ``via: hpa``: a HorizontalPodAutoscaler; ``metric: cpu`` on CPU utilisation, any other metric as a ``Pods``
  metric served by prometheus-adapter, whose rules (:func:`adapter_values`) the bundle writes beside the
  overlays (``k8s/prometheus-adapter/values.yaml``, the prometheus-adapter chart's ``rules.custom``);
- ``via: keda``: a KEDA ``ScaledObject`` (KEDA owns the HPA) with a ``prometheus`` trigger on :func:`query`,
  or KEDA's ``cpu`` trigger;
- ``via: keda-http``: a KEDA HTTP add-on ``HTTPScaledObject`` (scale to zero: the requests pass KEDA's
  interceptor, which holds them while a pod starts); ``inflight`` -> concurrency, ``rps`` -> request rate.

The queries select the series by the labels the ServiceMonitor gives them (``namespace``, ``service``,
``pod``); the monitoring end-to-end test evaluates each against a real Prometheus scraping a loaded server.
"""

from __future__ import annotations

import math
from typing import Any

from mlready.generators._shared.k8s_context import BundleContext
from mlready.generators._shared.k8s_options import ServingAutoscalingSpec
from mlready.generators._shared.k8s_spec import AutoscalingSpec
from mlready.generators._shared.promql import sel
from mlready.runtime import metrics as m

#: the KEDA HTTP add-on's interceptor proxy (its Helm chart's defaults): where keda-http routes must send
INTERCEPTOR = {"name": "keda-add-ons-http-interceptor-proxy", "namespace": "keda", "port": 8080}
#: per-pod custom metric names served by prometheus-adapter (custom.metrics.k8s.io)
ADAPTER_NAMES = {"inflight": "mlready_inflight_requests", "queue_time": "mlready_queue_time_seconds",
                 "rps": "mlready_requests_per_second"}


def _series(metric: str, labels: str, window: str, by: str = "") -> str:
    """The PromQL of ``metric`` over the series matching ``labels`` (a ``{...}`` selector or the adapter's
    ``{<<.LabelMatchers>>}``), summed (``by`` the adapter's group)."""
    agg = f"sum by ({by})" if by else "sum"
    if metric == "inflight":
        return f"{agg} ({m.INFLIGHT_REQUESTS}{labels})"
    if metric == "rps":
        return f"{agg} (rate({m.REQUESTS_TOTAL}{labels}[{window}]))"
    if metric == "queue_time":  # mean queue time; 0 (not NaN) while no request arrives
        total = f"{agg} (rate({m.QUEUE_DURATION}_sum{labels}[{window}]))"
        count = f"{agg} (rate({m.QUEUE_DURATION}_count{labels}[{window}]))"
        return f"{total} / clamp_min({count}, 1e-9)"
    raise ValueError(f"no query for metric {metric!r}")


def query(metric: str, namespace: str, service: str, window: str = "1m") -> str:
    """What a KEDA prometheus trigger asks: the metric over the stable Service's pods in ``namespace``."""
    return _series(metric, sel(namespace=namespace, service=service), window)


def predictor_query(metric: str, namespace: str, isvc: str, window: str = "1m") -> str:
    """The same over a KServe InferenceService's predictor pods (``<isvc>-predictor-...``), by pod name: KServe's
    Prometheus scraping annotations give the series ``namespace`` and ``pod``, not a Service."""
    return _series(metric, sel(namespace=namespace, pod=f"~{isvc}-predictor-.*"), window)


def kserve_autoscaling(ctx: BundleContext, cpu_utilization: int, namespace: str) -> dict[str, Any]:
    """The predictor's ``autoScaling`` for KServe's KEDA route (``serving.kserve.io/autoscalerClass: keda``)."""
    s = ctx.autoscaling
    threshold = s.threshold(cpu_utilization)
    if s.metric == "cpu":
        metric = cpu_metric(threshold)
    else:
        kind = "Value" if s.metric == "queue_time" else "AverageValue"
        metric = {"type": "External", "external": {
            "metric": {"backend": "prometheus", "serverAddress": s.prometheus_url,
                       "query": predictor_query(s.metric, namespace, ctx.name, s.window)},
            "target": {"type": kind, "value" if kind == "Value" else "averageValue": quantity(threshold)}}}
    return {"metrics": [metric]}


def adapter_rule(metric: str, window: str = "1m") -> dict[str, Any]:
    """A prometheus-adapter rule publishing ``metric`` per pod as ``ADAPTER_NAMES[metric]``."""
    source = {"inflight": m.INFLIGHT_REQUESTS, "rps": m.REQUESTS_TOTAL,
              "queue_time": f"{m.QUEUE_DURATION}_count"}[metric]
    return {
        "seriesQuery": f'{source}{{namespace!="",pod!=""}}',
        "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
        "name": {"matches": f"^{source}$", "as": ADAPTER_NAMES[metric]},
        "metricsQuery": _series(metric, "{<<.LabelMatchers>>}", window, by="<<.GroupBy>>"),
    }


def adapter_values(a: ServingAutoscalingSpec) -> dict[str, Any]:
    """Values for the prometheus-community/prometheus-adapter chart: the rule this bundle's HPAs need."""
    return {"rules": {"default": False, "custom": [adapter_rule(a.metric, a.window)]}}


def quantity(value: float) -> str:
    """A Kubernetes quantity for a metric target: 4 -> '4', 0.05 -> '50m'."""
    if float(value).is_integer():
        return str(int(value))
    return f"{math.ceil(value * 1000)}m"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def cpu_metric(utilization: float) -> dict[str, Any]:
    """A CPU-utilisation metric as the HPA (and KServe's autoScaling) writes it."""
    return {"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": int(utilization)}}}


def target_ref(ctx: BundleContext) -> dict[str, str]:
    """The stable Deployment: what every autoscaler scales (a canary or shadow keeps its own count)."""
    return {"apiVersion": "apps/v1", "kind": "Deployment", "name": ctx.name}


def behavior(a: AutoscalingSpec) -> dict[str, Any]:
    """Scale up fast (double every 30 s), down one pod a minute after the stabilisation window."""
    return {
        "scaleDown": {"stabilizationWindowSeconds": a.scale_down_window_seconds,
                      "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]},
        "scaleUp": {"stabilizationWindowSeconds": 0,
                    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 30}]},
    }


def hpa(ctx: BundleContext, a: AutoscalingSpec, namespace: str) -> dict[str, Any]:
    s = ctx.autoscaling
    if s.metric == "cpu":
        metric = cpu_metric(s.threshold(a.cpu_utilization))
    else:
        metric = {"type": "Pods", "pods": {"metric": {"name": ADAPTER_NAMES[s.metric]}, "target": {
            "type": "AverageValue", "averageValue": quantity(s.threshold(a.cpu_utilization))}}}
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": ctx.meta(namespace=namespace),
        "spec": {
            "scaleTargetRef": target_ref(ctx),
            "minReplicas": a.min_replicas,
            "maxReplicas": a.max_replicas,
            "metrics": [metric],
            "behavior": behavior(a),
        },
    }


def trigger(ctx: BundleContext, a: AutoscalingSpec, namespace: str) -> dict[str, Any]:
    s = ctx.autoscaling
    threshold = s.threshold(a.cpu_utilization)
    if s.metric == "cpu":
        return {"type": "cpu", "metricType": "Utilization", "metadata": {"value": str(int(threshold))}}
    # in-flight requests and request rate add up over the pods (the HPA divides by the pod count); the mean
    # queue time does not: it is compared as a single value
    return {"type": "prometheus", "metricType": "Value" if s.metric == "queue_time" else "AverageValue",
            "metadata": {"serverAddress": s.prometheus_url, "query": query(s.metric, namespace, ctx.name, s.window),
                         "threshold": _number(threshold)}}


def scaled_object(ctx: BundleContext, a: AutoscalingSpec, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": ctx.meta(namespace=namespace),
        "spec": {
            "scaleTargetRef": target_ref(ctx),
            "minReplicaCount": a.min_replicas,
            "maxReplicaCount": a.max_replicas,
            "pollingInterval": 15,
            "advanced": {"horizontalPodAutoscalerConfig": {"name": ctx.name, "behavior": behavior(a)}},
            "triggers": [trigger(ctx, a, namespace)],
        },
    }


def http_scaled_object(ctx: BundleContext, a: AutoscalingSpec, namespace: str) -> dict[str, Any]:
    s = ctx.autoscaling
    target = max(1, math.ceil(s.threshold(a.cpu_utilization)))
    if s.metric == "rps":
        scaling = {"requestRate": {"targetValue": target, "window": s.window, "granularity": "1s"}}
    else:
        scaling = {"concurrency": {"targetValue": target}}
    e = ctx.cfg.exposure
    spec: dict[str, Any] = {
        "hosts": [e.host] if e.host else [],
        "scaleTargetRef": {**target_ref(ctx), "service": ctx.name, "port": ctx.ports.http},
        "replicas": {"min": a.min_replicas, "max": a.max_replicas},
        "scaledownPeriod": a.scale_down_window_seconds,
        "scalingMetric": scaling,
    }
    # no pathPrefixes: the route has already rewritten exposure.path to "/" when the interceptor sees it
    return {"apiVersion": "http.keda.sh/v1alpha1", "kind": "HTTPScaledObject",
            "metadata": ctx.meta(namespace=namespace), "spec": spec}


def autoscaler(ctx: BundleContext, a: AutoscalingSpec, namespace: str) -> tuple[str, dict[str, Any]]:
    """The overlay file owning an environment's replica count: (file name, object)."""
    via = ctx.autoscaling.via
    if via == "keda":
        return "scaledobject.yaml", scaled_object(ctx, a, namespace)
    if via == "keda-http":
        return "httpscaledobject.yaml", http_scaled_object(ctx, a, namespace)
    return "hpa.yaml", hpa(ctx, a, namespace)
