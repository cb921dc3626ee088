"""Fixtures: real builds of the quickstart with ``+target=[k8s,helm]`` (chart and bundle side by side)."""

from __future__ import annotations

import pytest

from tests.k8s.helpers import Bundles, qs  # noqa: F401  (qs: a fixture)
from tests.support.containers import base_image, docker_client  # noqa: F401  (fixtures: podman smoke run)


@pytest.fixture(scope="session")
def charts(tmp_path_factory) -> Bundles:
    return Bundles(tmp_path_factory.mktemp("helm"))
