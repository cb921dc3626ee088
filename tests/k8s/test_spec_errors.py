"""Bad input is a spec error naming the key, raised before anything is written."""

from __future__ import annotations

from functools import partial

import pytest
from mlready.engine import api
from mlready.engine.errors import SpecError

from tests.k8s.helpers import spec_problems

problems = partial(spec_problems, target="k8s")


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("target.k8s.environments.prod.resources.cpu='2 cores'",
         "target.k8s.environments.prod.resources.cpu: '2 cores' is not a Kubernetes quantity"),
        ("target.k8s.environments.dev.resources.memory_limit=1GB",
         "target.k8s.environments.dev.resources.memory_limit: '1GB' is not a Kubernetes quantity"),
        ("target.k8s.environments.dev.replicas=0", "target.k8s.environments.dev.replicas: must be >= 1, got 0"),
        ("target.k8s.environments.prod.autoscaling.min_replicas=12",
         "target.k8s.environments.prod.autoscaling.min_replicas: the HPA minimum (12) is above its maximum (10)"),
        ("target.k8s.name=Churn_Model", "target.k8s.name: 'Churn_Model' is not a DNS-1123 label"),
        ("env.namespace=Prod", "env.namespace: 'Prod' is not a DNS-1123 label"),
        ("target.k8s.network_policy.allow_from_namespaces=[ingress.nginx]",
         "target.k8s.network_policy.allow_from_namespaces: 'ingress.nginx' is not a DNS-1123 label"),
        ("target.k8s.rollout.canary.weight=150", "target.k8s.rollout.canary.weight: must be <= 100, got 150"),
        ("target.k8s.rollout.canary.weight=-1", "target.k8s.rollout.canary.weight: must be >= 0, got -1"),
        ("target.k8s.environments.staging.resources.memory=4Gi",
         "target.k8s.environments.staging.resources.memory: the request '4Gi' exceeds the limit '1Gi'"),
        ("target.k8s.rollout.strategy=canary",
         "target.k8s.rollout.strategy: 'canary' needs target.k8s.rollout.canary.stable_version"),
        ("target.k8s.run_as_user=1000", "target.k8s.run_as_user: must be >= 10000, got 1000"),
    ],
)
def test_override_errors_name_the_key(qs, override, expected):
    found = problems(qs, override)
    assert len(found) == 1, found
    assert found[0].startswith(f"override '{override}' {expected}"), found[0]


def test_errors_in_deploy_yaml_are_all_reported_with_their_keys(qs):
    (qs / "deploy.yaml").write_text((qs / "deploy.yaml").read_text() + (
        "target:\n"
        "  k8s:\n"
        "    environments:\n"
        "      prod:\n"
        "        replicas: 0\n"
        "        resources:\n"
        "          cpu: 2 cores\n"
    ))
    found = problems(qs)
    assert len(found) == 2, found
    assert any(p.endswith("target.k8s.environments.prod.replicas: must be >= 1, got 0") for p in found), found
    assert any("target.k8s.environments.prod.resources.cpu: '2 cores' is not a Kubernetes quantity" in p
               for p in found), found


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["target.k8s.exposure.kind=gateway", "target.k8s.exposure.host=https://churn.example.com"],
         "target.k8s.exposure.host: 'https://churn.example.com' is not a DNS name"),
        (["target.k8s.exposure.host=churn_model.example.com"],
         "target.k8s.exposure.host: 'churn_model.example.com' is not a DNS name"),
        (["target.k8s.exposure.tls_secret=Churn_TLS"],
         "target.k8s.exposure.tls_secret: 'Churn_TLS' is not a DNS-1123 subdomain"),
        (["target.k8s.exposure.path=churn"], "target.k8s.exposure.path: 'churn' is not a URL path"),
        (["target.k8s.gpu.count=0"], "target.k8s.gpu.count: must be >= 1, got 0"),
        (["target.k8s.exposure.kind=gateway"], "target.k8s.exposure.gateway.name: name the shared Gateway"),
        (["serving.autoscaling.target=0"], "serving.autoscaling.target: must be > 0.0, got 0"),
        (["serving.autoscaling.via=keda", "serving.autoscaling.target=-2"],
         "serving.autoscaling.target: must be > 0.0, got -2"),
        (["target.k8s.rollout.shadow.percent=101"], "target.k8s.rollout.shadow.percent: must be <= 100, got 101"),
        (["target.k8s.rollout.shadow.percent=-5"], "target.k8s.rollout.shadow.percent: must be >= 0, got -5"),
        (["target.k8s.rollout.strategy=shadow"],
         "target.k8s.rollout.strategy: 'shadow' needs target.k8s.rollout.shadow.stable_version"),
        (["target.k8s.exposure.kind=gateway", "target.k8s.exposure.gateway.name=shared",
          "target.k8s.exposure.tls_secret=churn-tls"],
         "target.k8s.exposure.tls_secret: TLS is terminated by a Gateway listener"),
        (["target.k8s.environments.prod.autoscaling.min_replicas=0"],
         "target.k8s.environments.prod.autoscaling.min_replicas: 0 (scale to zero) needs serving.autoscaling.via: "
         "keda-http"),
        (["serving.autoscaling.via=keda-http", "serving.autoscaling.metric=rps", "target.k8s.exposure.kind=gateway",
          "target.k8s.exposure.gateway.name=shared"],
         "target.k8s.exposure.host: serving.autoscaling.via keda-http routes by host"),
        (["serving.autoscaling.metric=inflight", "target.k8s.service_monitor=off"],
         "target.k8s.service_monitor: serving.autoscaling.metric 'inflight' queries the server's metrics"),
    ],
)
def test_issue18_errors_name_the_key(qs, overrides, expected):
    found = problems(qs, *overrides)
    assert len(found) == 1, found
    assert expected in found[0], found[0]


def test_keda_http_needs_a_gateway_host_and_an_http_signal(qs):
    found = problems(qs, "serving.autoscaling.via=keda-http", "serving.autoscaling.metric=queue_time")
    assert len(found) == 3, found
    for key in ("serving.autoscaling.metric: 'queue_time' is not a KEDA HTTP add-on signal",
                "target.k8s.exposure.host: serving.autoscaling.via keda-http routes by host",
                "target.k8s.exposure.kind: serving.autoscaling.via keda-http needs 'gateway'"):
        assert sum(key in p for p in found) == 1, (key, found)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["target.k8s.gpu.node_selector={gpu: 'yes please'}"],
         "target.k8s.gpu.node_selector.gpu: 'yes please' is not a valid label value"),
        (["target.k8s.gpu.tolerations=[{key: nvidia.com/gpu, operator: Exists, value: present}]"],
         "target.k8s.gpu.tolerations.0.value: operator 'Exists' matches any value"),
        (["target.k8s.gpu.tolerations=[{key: gpu, operator: Equal, value: 'a b'}]"],
         "target.k8s.gpu.tolerations.0.value: 'a b' is not a valid taint value"),
        (["target.k8s.exposure.path='/churn/(.*)'"], "target.k8s.exposure.path: '/churn/(.*)' is not a URL path"),
        (["target.k8s.exposure.path=/a/../b"], "target.k8s.exposure.path: '/a/../b' is not a URL path"),
    ],
)
def test_gpu_and_path_errors(qs, overrides, expected):
    found = problems(qs, *overrides)
    assert len(found) == 1, found
    assert expected in found[0], found[0]


def test_shadow_is_refused_for_kserve(qs):
    """The InferenceService has no shadow: it would send every client to the new version."""
    with pytest.raises(SpecError) as info:
        api.build(qs, ["tracking.enabled=false", "+target=[k8s,kserve]", "target.k8s.rollout.strategy=shadow",
                       "target.k8s.rollout.shadow.stable_version=0.9.0"], run_hooks=False)
    found = [str(p) for p in info.value.problems]
    assert len(found) == 1 and "target.k8s.rollout.strategy: 'shadow' is written by the k8s bundle" in found[0], found
    assert not (qs / "build").exists()
