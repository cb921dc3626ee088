"""Fixtures: real builds of the quickstart project with ``+target=k8s`` (and variants), done once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.k8s.helpers import Bundles, qs  # noqa: F401  (qs: a fixture)
from tests.support.containers import base_image, docker_client  # noqa: F401  (fixtures: podman smoke run)


@pytest.fixture(scope="session")
def bundles(tmp_path_factory) -> Bundles:
    return Bundles(tmp_path_factory.mktemp("k8s"))


@pytest.fixture(scope="session")
def default_out(bundles) -> Path:
    return bundles.build()
