"""Exposure (``target.k8s.exposure``): Gateway API routes (and mlready's own Gateway) or an Ingress, from real
builds of the quickstart; the custom resources are checked against their CRD schemas kept as data, the rendered
overlays by kubectl kustomize (kubernetes-validate, checkov and yamllint run on them in test_tools)."""

from __future__ import annotations

import json

import pytest

from tests.k8s.helpers import (
    VARIANT_GATEWAY,
    VARIANT_INGRESS,
    VARIANT_KEDA_HTTP,
    by_kind,
    crd_problems,
    load,
    render,
)


@pytest.fixture(scope="module")
def gateway_out(bundles):
    return bundles.build(*VARIANT_GATEWAY)


def test_http_and_grpc_routes_reach_the_service_ports(gateway_out):
    route = load(gateway_out / "k8s/base/httproute.yaml")
    assert route["spec"]["hostnames"] == ["churn.example.com"]
    assert route["spec"]["parentRefs"] == [{"name": "quickstart"}]  # mlready's own Gateway, same namespace
    rule = route["spec"]["rules"][0]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/churn"}}]
    assert rule["filters"][0] == {"type": "URLRewrite", "urlRewrite": {
        "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}}  # the server sees /v2/...
    assert rule["backendRefs"] == [{"name": "quickstart", "port": 8080}]
    assert rule["timeouts"] == {"request": "60s"}
    grpc = load(gateway_out / "k8s/base/grpcroute.yaml")
    assert grpc["spec"]["rules"] == [{"backendRefs": [{"name": "quickstart", "port": 8081}]}]
    service = load(gateway_out / "k8s/base/service.yaml")
    assert {p["name"]: p["port"] for p in service["spec"]["ports"]} == {"http": 8080, "grpc": 8081, "metrics": 9090}


def test_own_gateway_terminates_tls_with_the_secret(gateway_out):
    gw = load(gateway_out / "k8s/base/gateway.yaml")
    assert gw["metadata"]["name"] == "quickstart"
    assert gw["spec"]["gatewayClassName"] == "istio"
    assert gw["spec"]["listeners"] == [{
        "name": "https", "protocol": "HTTPS", "port": 443, "hostname": "churn.example.com",
        "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": "churn-tls"}]},
        "allowedRoutes": {"namespaces": {"from": "Same"}}}]


def test_gateway_objects_match_the_gateway_api_crd_schemas(gateway_out):
    docs = render(gateway_out / "k8s/overlays/prod")
    for kind in ("HTTPRoute", "GRPCRoute", "Gateway"):
        doc = by_kind(docs, kind)
        assert doc["metadata"]["namespace"] == "quickstart-prod"  # kustomize moves them with the app
        assert crd_problems(doc) == [], kind
    bad = json.loads(json.dumps(by_kind(docs, "HTTPRoute")))
    bad["spec"]["rules"][0]["timeouts"]["requests"] = "60s"  # a typo: the schema is strict
    assert any("requests" in p for p in crd_problems(bad))


def test_controller_namespace_may_reach_the_serving_ports(gateway_out):
    policy = load(gateway_out / "k8s/base/networkpolicy.yaml")
    peers = policy["spec"]["ingress"][0]["from"]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "istio-system"}}} in peers


def test_ingress_with_tls_class_and_timeout(bundles):
    out = bundles.build(*VARIANT_INGRESS)
    ing = by_kind(render(out / "k8s/overlays/staging"), "Ingress")
    assert ing["metadata"]["namespace"] == "quickstart-staging"
    assert ing["spec"]["ingressClassName"] == "nginx"
    assert ing["spec"]["tls"] == [{"hosts": ["churn.example.com"], "secretName": "churn-tls"}]
    assert ing["spec"]["rules"] == [{"host": "churn.example.com", "http": {"paths": [{
        "path": "/", "pathType": "Prefix", "backend": {"service": {"name": "quickstart", "port": {"name": "http"}}}}]}}]
    assert ing["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "60"
    assert not (out / "k8s/base/httproute.yaml").exists()


def test_no_exposure_by_default(default_out):
    names = {p.name for p in (default_out / "k8s/base").iterdir()}
    assert not names & {"httproute.yaml", "grpcroute.yaml", "gateway.yaml", "ingress.yaml"}


def test_routes_attach_to_a_shared_gateway_in_its_namespace(bundles):
    route = by_kind(render(bundles.build(*VARIANT_KEDA_HTTP) / "k8s/overlays/prod"), "HTTPRoute")
    assert route["spec"]["parentRefs"] == [{"name": "shared", "namespace": "infra"}]
    assert not (bundles.build(*VARIANT_KEDA_HTTP) / "k8s/base/gateway.yaml").exists()
