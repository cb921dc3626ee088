"""Small pure functions of the k8s and KServe targets."""

from __future__ import annotations

import pytest
from mlready.generators._shared.k8s_spec import check_quantity
from mlready.generators.k8s.generator import wrap_header
from mlready.generators.k8s.kustomize import canary_split
from mlready.generators.kserve.spec import KServeSpec


@pytest.mark.parametrize(
    ("total", "weight", "split"),
    [(4, 25, (3, 1)), (10, 10, (9, 1)), (3, 10, (2, 1)), (1, 10, (1, 1)), (5, 0, (5, 0)), (4, 100, (0, 4)),
     (4, 90, (1, 3)), (2, 50, (1, 1))],
)
def test_canary_split_is_replica_weighted(total, weight, split):
    assert canary_split(total, weight) == split


@pytest.mark.parametrize("value", ["500m", "2", "1.5", "1Gi", "512Mi", "256M", "1e3"])
def test_quantities_accepted(value):
    assert check_quantity(value) == value


@pytest.mark.parametrize("value", ["2 cores", "1 GB", "1GB", "abc", "-1", "0"])
def test_quantities_rejected(value):
    with pytest.raises(ValueError):
        check_quantity(value)


def test_header_lines_are_wrapped_to_80_columns():
    long = "# project: quickstart 1.0.0, env: dev; regenerate with `mlready build`, see build/manifest.json for it."
    text = wrap_header("# short\n" + long + "\n")
    assert all(len(line) <= 80 for line in text.splitlines())
    assert text.startswith("# short\n# project:") and text.endswith("for it.\n")
    assert " ".join(line[2:] for line in text.splitlines()[1:]) == long[2:]


@pytest.mark.parametrize(
    ("version", "mode", "annotation"),
    [("0.16", "standard", "Standard"), ("0.16", "knative", "Knative"), ("0.17.1", "standard", "Standard"),
     ("0.15", "standard", "RawDeployment"), ("0.15.2", "knative", "Serverless"), ("1.0", "knative", "Knative")],
)
def test_deployment_mode_annotation_by_kserve_version(version, mode, annotation):
    assert KServeSpec(version=version, mode=mode).deployment_mode == annotation
