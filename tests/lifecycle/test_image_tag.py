"""`mlready image` tags the Model Registry version of the build's model with the image it went into."""

from __future__ import annotations

import warnings

import pytest
from mlready.engine.actions.image import build_and_check

from tests.docker.conftest import DOCKER, copy_quickstart
from tests.support.containers import base_image, docker_client  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.container, pytest.mark.slow]


@pytest.mark.usefixtures("docker_client", "base_image")
def test_image_reference_and_digest_tag_the_registered_version(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    project = copy_quickstart(tmp_path / "quickstart")
    overrides = [o for o in DOCKER if not o.startswith("tracking.")] + ["tracking.register_model=true"]
    report = build_and_check(project, overrides, smoke=False)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=f"sqlite:///{project / '.mlready' / 'mlflow.db'}")
        versions = client.search_model_versions("name='quickstart'")
    assert len(versions) == 1
    tags = versions[0].tags
    assert tags["mlready.image"] == report.ref
    if report.digest:
        assert tags["mlready.image_digest"] == report.digest
