"""The rendered chart passes the checkers the bundle passes: kubernetes-validate --strict (1.29-1.33) and
checkov, for every values file of several variants."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.helm.helpers import ENVS, chart_dir, namespace, objects, render, values_file
from tests.k8s.helpers import DIGEST
from tests.k8s.test_tools import CRD_KINDS
from tests.support.k8s_checks import checkov, kubernetes_validate_failures

pytestmark = [pytest.mark.tools, pytest.mark.slow]
VARIANTS = [
    ((), None),
    (("+monitoring=prometheus",), DIGEST),
    (("target.k8s.rollout.strategy=canary", "target.k8s.rollout.canary.stable_version=0.9.0"), DIGEST),
    (("target.k8s.environments.dev.resources.cpu_limit=null",), None),
]


@pytest.fixture(scope="module")
def rendered(charts, tmp_path_factory) -> Path:
    """Every variant x values file rendered by Helm: one file per render (core kinds), one per template for
    checkov (which reads each object with its file)."""
    out = tmp_path_factory.mktemp("rendered")
    for i, (overrides, digest) in enumerate(VARIANTS):
        build = charts.build(*overrides, digest=digest, targets="[k8s,helm]")
        chart = chart_dir(build)
        for env in (None, *ENVS):
            docs = [d for d in objects(render(chart, values_file(chart, env), namespace(build, env)))
                    if d["kind"] not in CRD_KINDS]
            (out / f"v{i}-{env or 'base'}.yaml").write_text(yaml.safe_dump_all(docs))
    return out


def test_kubernetes_validate_strict_on_every_supported_version(rendered):
    files = sorted(rendered.glob("*.yaml"))
    assert len(files) == 4 * len(VARIANTS)
    assert kubernetes_validate_failures(files) == {}


def test_checkov_has_no_failed_checks(rendered):
    report = checkov(rendered)
    assert report["summary"]["resource_count"] >= 6 * 4 * len(VARIANTS)
