"""Fixtures: the quickstart built with ``+target=docker`` (CPU on the local test base, and the GPU variant).

The wheelhouse and lock are cached in ``~/.cache/mlready/wheels`` between runs (MLREADY_WHEEL_CACHE moves it);
the base image is cached in podman's store (see tests/support/containers.py).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from mlready.engine import api

from tests.support.containers import DEFAULT_BASE_IMAGE, base_image, docker_client  # noqa: F401  (fixtures)

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
BASE = os.environ.get("MLREADY_TEST_BASE_IMAGE", DEFAULT_BASE_IMAGE)
DOCKER = ["tracking.enabled=false", "+target=docker", f"target.docker.base_image={BASE}"]
GPU = ["tracking.enabled=false", "+target=docker", "target.docker.variant=gpu", "target.docker.wheelhouse=false"]


def copy_quickstart(dest: Path) -> Path:
    shutil.copytree(QUICKSTART, dest, ignore=shutil.ignore_patterns("build", ".mlready", "__pycache__", "mlruns"))
    return dest


@pytest.fixture(scope="session")
def quickstart(tmp_path_factory) -> Path:
    return copy_quickstart(tmp_path_factory.mktemp("docker") / "quickstart")


@pytest.fixture(scope="session")
def cpu_build(quickstart) -> api.BuildResult:
    return api.build(quickstart, DOCKER, run_hooks=False)


@pytest.fixture(scope="session")
def cpu_context(cpu_build) -> Path:
    return cpu_build.out_dir / "docker"


@pytest.fixture(scope="session")
def gpu_context(quickstart) -> Path:
    result = api.build(quickstart, GPU, out=quickstart / "build-gpu", run_hooks=False)
    return result.out_dir / "docker"
