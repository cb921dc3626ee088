"""Builds for the ``+target=batch`` tests (test_target*.py): the quickstart and examples/tabular, each variant
once per session, and the overrides of the variants both test files check."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cloud.conftest import REPO, Builds

TABULAR = REPO / "examples" / "tabular"
DIGEST = "sha256:" + "ab" * 32
#: every platform at once, each with its own locations (they read different kinds)
CLOUDS = [
    "+target=batch", "target.batch.platforms=[k8s,sagemaker,vertex,azureml]",
    "target.batch.sagemaker.input=s3://acme-ml/churn/in/", "target.batch.sagemaker.output=s3://acme-ml/churn/out/",
    "target.batch.sagemaker.instance_type=ml.c5.xlarge", "target.batch.sagemaker.instance_count=2",
    "target.batch.vertex.input=gs://acme-ml/churn/in/rows.jsonl", "target.batch.vertex.output=gs://acme-ml/churn/out/",
    "target.batch.azureml.input=azureml://datastores/workspaceblobstore/paths/churn/in/",
    "target.batch.azureml.output=azureml://datastores/workspaceblobstore/paths/churn/out/",
    "target.docker.registry=registry.example.com/ml",
]
#: the k8s variants: separate claims, kept columns, bad rows skipped, no TTL, no CPU limit, prod resources
K8S_VARIANTS = [
    ("+target=batch",),
    ("+target=batch", "target.batch.input=pvc://scoring-in/daily/rows.csv",
     "target.batch.output=pvc://scoring-out/scored/preds.csv", "target.batch.keep=[id]", "target.batch.bad_rows=skip",
     "target.batch.k8s.ttl_seconds_after_finished=null", "target.k8s.environments.dev.resources.cpu_limit=null"),
    ("+target=batch", "env=prod", "target.batch.schedule=null"),
]


@pytest.fixture(scope="session")
def qs(tmp_path_factory) -> Builds:
    return Builds(tmp_path_factory.mktemp("batch-qs"))


@pytest.fixture(scope="session")
def qs_digest(tmp_path_factory) -> Builds:
    """A quickstart copy whose `mlready image` recorded a digest."""
    b = Builds(tmp_path_factory.mktemp("batch-qs-digest"))
    state = b.project / ".mlready" / "image.json"
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(f'{{"name": "quickstart", "tag": "1.0.0", "digest": "{DIGEST}"}}')
    return b


@pytest.fixture(scope="session")
def tab(tmp_path_factory) -> Builds:
    return Builds(tmp_path_factory.mktemp("batch-tab"), example=TABULAR)


def k8s_files(out: Path) -> list[Path]:
    return sorted((out / "batch" / "k8s").glob("*.yaml"))
