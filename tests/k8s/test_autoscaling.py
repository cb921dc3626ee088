"""Autoscaling on the server's own signals (``serving.autoscaling``): a KEDA ScaledObject with a Prometheus
trigger, an HPA on a custom metric with the prometheus-adapter rule it reads, a KEDA HTTP add-on
HTTPScaledObject that scales to zero; KEDA objects checked against KEDA's CRD schemas kept as data. (The
queries themselves are evaluated against a real Prometheus in tests/monitoring/test_end_to_end.py.)"""

from __future__ import annotations

import json

import yaml

from tests.k8s.helpers import (
    VARIANT_GATEWAY,
    VARIANT_INGRESS,
    VARIANT_KEDA_HTTP,
    by_kind,
    crd_problems,
    load,
    render,
)


def test_keda_scaled_object_on_inflight_requests(bundles):
    out = bundles.build(*VARIANT_GATEWAY)
    for env, (low, high) in {"staging": (2, 4), "prod": (3, 10)}.items():
        docs = render(out / "k8s/overlays" / env)
        assert not [d for d in docs if d["kind"] == "HorizontalPodAutoscaler"]  # KEDA owns the HPA
        so = by_kind(docs, "ScaledObject")
        assert crd_problems(so) == [], env
        spec = so["spec"]
        assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (low, high)
        assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "quickstart"}
        assert spec["triggers"] == [{"type": "prometheus", "metricType": "AverageValue", "metadata": {
            "serverAddress": "http://prometheus-operated.monitoring.svc:9090",
            "query": f'sum (mlready_inflight_requests{{namespace="quickstart-{env}", service="quickstart"}})',
            "threshold": "4"}}]
    assert "scaledobject.yaml" not in {p.name for p in (out / "k8s/overlays/dev").iterdir()}  # dev: fixed count
    assert (out / "k8s/base/servicemonitor.yaml").exists()  # the query's labels come from it
    assert not (out / "k8s/base/prometheusrule.yaml").exists()  # but monitoring (the alerts) stays off
    bad = json.loads(json.dumps(so))
    bad["spec"]["triggers"][0]["metadata"]["threshold"] = 4  # KEDA's metadata values are strings
    assert crd_problems(bad)


def test_keda_cpu_trigger(bundles):
    out = bundles.build("serving.autoscaling.via=keda")
    so = load(out / "k8s/overlays/prod/scaledobject.yaml")
    assert so["spec"]["triggers"] == [{"type": "cpu", "metricType": "Utilization", "metadata": {"value": "70"}}]
    assert crd_problems(so) == []


def test_hpa_on_queue_time_with_its_prometheus_adapter_rule(bundles):
    out = bundles.build(*VARIANT_INGRESS)
    hpa = load(out / "k8s/overlays/prod/hpa.yaml")
    assert hpa["spec"]["metrics"] == [{"type": "Pods", "pods": {
        "metric": {"name": "mlready_queue_time_seconds"}, "target": {"type": "AverageValue", "averageValue": "50m"}}}]
    values = yaml.safe_load((out / "k8s/prometheus-adapter/values.yaml").read_text())
    (rule,) = values["rules"]["custom"]
    assert rule["name"]["as"] == "mlready_queue_time_seconds"  # the name the HPA asks for
    assert rule["resources"]["overrides"] == {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}
    assert "<<.LabelMatchers>>" in rule["metricsQuery"] and "<<.GroupBy>>" in rule["metricsQuery"]


def test_cpu_hpa_writes_no_adapter_rules(default_out):
    hpa = load(default_out / "k8s/overlays/prod/hpa.yaml")
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    assert not (default_out / "k8s/prometheus-adapter").exists()


def test_keda_http_scales_to_zero_behind_the_interceptor(bundles):
    out = bundles.build(*VARIANT_KEDA_HTTP)
    docs = render(out / "k8s/overlays/dev")
    hso = by_kind(docs, "HTTPScaledObject")
    assert crd_problems(hso) == []
    assert hso["spec"]["replicas"] == {"min": 0, "max": 5}
    assert hso["spec"]["hosts"] == ["churn.example.com"]
    assert hso["spec"]["scalingMetric"] == {"requestRate": {"targetValue": 50, "window": "1m", "granularity": "1s"}}
    assert hso["spec"]["scaleTargetRef"]["service"] == "quickstart"
    route = by_kind(docs, "HTTPRoute")  # clients reach the interceptor, which wakes the Deployment
    assert route["spec"]["rules"][0]["backendRefs"] == [
        {"name": "keda-add-ons-http-interceptor-proxy", "namespace": "keda", "port": 8080}]
    assert not [d for d in docs if d["kind"] == "GRPCRoute"]
    dep = by_kind(docs, "Deployment")
    assert "replicas" not in dep["spec"]
    peers = by_kind(docs, "NetworkPolicy")["spec"]["ingress"][0]["from"]  # the interceptor may reach the pods
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "keda"}}} in peers
