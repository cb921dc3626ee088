"""The chart's own keys (and the target.k8s checks the chart relies on) are spec errors naming the key,
raised before anything is written."""

from __future__ import annotations

from functools import partial

import pytest
from mlready.engine import api

from tests.k8s.helpers import spec_problems

HELM = ["tracking.enabled=false", "+target=helm"]
problems = partial(spec_problems, target="helm")


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("target.helm.chart_version='1.0'", "target.helm.chart_version: '1.0' is not a SemVer 2 version"),
        ("target.helm.chart_version=v1.2.3", "target.helm.chart_version: 'v1.2.3' is not a SemVer 2 version"),
        ("project.version='1.0'", "project.version: '1.0' is not a SemVer 2 version, which the Helm chart takes as "
                                "its version: set target.helm.chart_version"),
        ("target.helm.chart_name=Churn_Model", "target.helm.chart_name: 'Churn_Model' is not a chart name"),
        ("target.helm.chart_name=" + "a" * 54, "target.helm.chart_name: "),
        # what the chart's image values are made of (the bundle writes the same image)
        ("project.version=''", "project.version: '' cannot be a Kubernetes label value or image tag"),
        ("target.k8s.image='Bad Repo'", "target.k8s.image: 'Bad Repo' is not an image repository"),
        ("target.k8s.image=ghcr.io/acme/churn:1.0", "target.k8s.image: 'ghcr.io/acme/churn:1.0' is not an image"),
        ("target.helm.chart_nme=x", "target.helm.chart_nme: unknown key (did you mean 'target.helm.chart_name'?)"),
        # without +target=k8s the chart still runs the bundle's checks
        ("target.k8s.environments.prod.autoscaling.min_replicas=12",
         "target.k8s.environments.prod.autoscaling.min_replicas: the HPA minimum (12) is above its maximum (10)"),
        ("target.k8s.rollout.strategy=canary",
         "target.k8s.rollout.strategy: 'canary' needs target.k8s.rollout.canary.stable_version"),
    ],
)
def test_spec_errors_name_the_key(qs, override, expected):
    found = problems(qs, override)
    assert any(expected in p for p in found), found


def test_a_non_semver_project_version_builds_with_an_explicit_chart_version(qs):
    result = api.build(qs, [*HELM, "project.version='1.0'", "target.helm.chart_version=1.0.0"], run_hooks=False)
    chart = (result.out_dir / "helm/quickstart/Chart.yaml").read_text()
    assert "\nversion: 1.0.0\n" in chart and "\nappVersion: '1.0'\n" in chart
    assert not (result.out_dir / "k8s").exists()  # +target=helm alone: the chart, not the bundle


def test_a_corrupt_image_state_digest_is_not_written(qs):
    """`.mlready/image.json` (written by `mlready image`) with a digest that is not a full sha256 one: the
    chart and the bundle pin nothing, instead of writing an image reference no registry resolves."""
    (qs / ".mlready").mkdir(exist_ok=True)
    (qs / ".mlready/image.json").write_text('{"name": "quickstart", "tag": "1.0.0", "digest": "sha256:zz"}')
    out = api.build(qs, ["tracking.enabled=false", "+target=[k8s,helm]"], run_hooks=False).out_dir
    assert "sha256:zz" not in (out / "helm/quickstart/values-prod.yaml").read_text()
    assert "sha256:zz" not in (out / "k8s/overlays/prod/kustomization.yaml").read_text()
