"""The rendered chart passes the checkers the bundle passes: kubernetes-validate --strict (1.29-1.33),
checkov, and the CRD schemas for custom resources, for every values file of several variants."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.helm.helpers import ENVS, chart_dir, namespace, objects, render, values_file
from tests.k8s.helpers import (
    CRD_SCHEMAS,
    DIGEST,
    VARIANT_GATEWAY,
    VARIANT_INGRESS,
    VARIANT_KEDA_HTTP,
    crd_problems,
)
from tests.support.k8s_checks import checkov, kubernetes_validate_failures

pytestmark = [pytest.mark.tools, pytest.mark.slow]
VARIANTS = [
    ((), None),
    (VARIANT_GATEWAY, DIGEST),  # Gateway + shadow mirror + KEDA + GPU
    (VARIANT_INGRESS, None),  # Ingress + Istio shadow + custom-metric HPA
    (VARIANT_KEDA_HTTP, None),  # KEDA HTTP add-on, scale to zero
    (("+monitoring=prometheus",), DIGEST),
    (("target.k8s.rollout.strategy=canary", "target.k8s.rollout.canary.stable_version=0.9.0"), DIGEST),
    (("target.k8s.environments.dev.resources.cpu_limit=null",), None),
]


@pytest.fixture(scope="module")
def rendered(charts, tmp_path_factory) -> Path:
    """Every variant x values file rendered by Helm: core kinds in ``core/`` (one YAML file per render),
    custom resources in ``custom/`` (JSON)."""
    out = tmp_path_factory.mktemp("rendered")
    (out / "core").mkdir()
    (out / "custom").mkdir()
    for i, (overrides, digest) in enumerate(VARIANTS):
        build = charts.build(*overrides, digest=digest, targets="[k8s,helm]")
        chart = chart_dir(build)
        for env in (None, *ENVS):
            docs = objects(render(chart, values_file(chart, env), namespace(build, env)))
            core = [d for d in docs if d["kind"] not in CRD_SCHEMAS]
            (out / "core" / f"v{i}-{env or 'base'}.yaml").write_text(yaml.safe_dump_all(core))
            custom = [d for d in docs if d["kind"] in CRD_SCHEMAS]
            (out / "custom" / f"v{i}-{env or 'base'}.json").write_text(json.dumps(custom))
    return out


def test_custom_resources_match_their_crd_schemas(rendered):
    """HTTPRoute, Gateway, ScaledObject, ... (kubernetes-validate knows only core kinds)."""
    kinds = set()
    for path in sorted((rendered / "custom").glob("*.json")):
        for doc in json.loads(path.read_text()):
            kinds.add(doc["kind"])
            assert crd_problems(doc) == [], (path.name, doc["kind"], doc["metadata"]["name"])
    assert kinds >= {"HTTPRoute", "Gateway", "ScaledObject", "HTTPScaledObject", "VirtualService", "PrometheusRule"}


def test_kubernetes_validate_strict_on_every_supported_version(rendered):
    files = sorted((rendered / "core").glob("*.yaml"))
    assert len(files) == 4 * len(VARIANTS)
    assert kubernetes_validate_failures(files) == {}


def test_checkov_has_no_failed_checks(rendered):
    report = checkov(rendered / "core")
    assert report["summary"]["resource_count"] >= 6 * 4 * len(VARIANTS)
