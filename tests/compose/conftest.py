"""Compose fixtures: quickstart builds with ``+target=compose`` (one project copy), and the container harness."""

from __future__ import annotations

import pytest

from tests.cloud.conftest import BASE, Builds
from tests.support.containers import base_image, docker_client  # noqa: F401  (fixtures)


@pytest.fixture(scope="session")
def builds(tmp_path_factory) -> Builds:
    return Builds(tmp_path_factory.mktemp("compose"), [*BASE, "+target=compose"])
