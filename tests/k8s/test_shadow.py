"""Shadow rollouts: the new version beside the stable one, receiving a mirrored share of the stable Service's
requests (Gateway API RequestMirror, on the exposure route or a mesh route, or an Istio VirtualService mirror);
objects checked against their CRD schemas kept as data."""

from __future__ import annotations

import json

from tests.k8s.helpers import (
    VARIANT_GATEWAY,
    VARIANT_INGRESS,
    VARIANT_MESH_SHADOW,
    by_kind,
    crd_problems,
    render,
)

MIRROR = {"type": "RequestMirror",
          "requestMirror": {"backendRef": {"name": "quickstart-shadow", "port": 8080}, "percent": 20}}


def _images(docs):
    return {d["metadata"]["name"]: d["spec"]["template"]["spec"]["containers"][0]["image"]
            for d in docs if d["kind"] == "Deployment"}


def test_stable_and_shadow_deployments_with_their_own_services(bundles):
    docs = render(bundles.build(*VARIANT_GATEWAY) / "k8s/overlays/dev")
    assert _images(docs) == {"quickstart": "quickstart:0.9.0", "quickstart-shadow": "quickstart:1.0.0"}
    shadow = by_kind(docs, "Deployment", "quickstart-shadow")
    assert shadow["spec"]["replicas"] == 1
    assert shadow["spec"]["selector"]["matchLabels"]["mlready.io/track"] == "shadow"
    assert by_kind(docs, "Service", "quickstart")["spec"]["selector"]["mlready.io/track"] == "stable"
    assert by_kind(docs, "Service", "quickstart-shadow")["spec"]["selector"]["mlready.io/track"] == "shadow"


def test_gateway_mirror_on_the_exposure_route(bundles):
    docs = render(bundles.build(*VARIANT_GATEWAY) / "k8s/overlays/prod")
    route = by_kind(docs, "HTTPRoute")
    assert MIRROR in route["spec"]["rules"][0]["filters"]
    assert route["spec"]["rules"][0]["backendRefs"] == [{"name": "quickstart", "port": 8080}]
    assert crd_problems(route) == []
    over = json.loads(json.dumps(route))
    over["spec"]["rules"][0]["filters"][1]["requestMirror"]["percent"] = 101
    assert crd_problems(over)


def test_gateway_mirror_on_a_mesh_route_without_exposure(bundles):
    docs = render(bundles.build(*VARIANT_MESH_SHADOW) / "k8s/overlays/staging")
    route = by_kind(docs, "HTTPRoute", "quickstart-shadow")
    assert route["spec"]["parentRefs"] == [{"group": "", "kind": "Service", "name": "quickstart", "port": 8080}]
    assert route["spec"]["rules"][0]["filters"] == [MIRROR]
    assert crd_problems(route) == []


def test_istio_virtual_service_mirror(bundles):
    docs = render(bundles.build(*VARIANT_INGRESS) / "k8s/overlays/prod")
    vs = by_kind(docs, "VirtualService")
    assert crd_problems(vs) == []
    (http,) = vs["spec"]["http"]
    assert vs["spec"]["hosts"] == ["quickstart"]
    assert http["route"] == [{"destination": {"host": "quickstart", "port": {"number": 8080}}}]
    assert http["mirror"] == {"host": "quickstart-shadow", "port": {"number": 8080}}
    assert http["mirrorPercentage"] == {"value": 20.0}
    assert not [d for d in docs if d["kind"] == "HTTPRoute"]
