"""Compose fixtures: quickstart builds with ``+target=compose`` (one project copy), and the container harness."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from mlready.engine import api

from tests.support.containers import base_image, docker_client  # noqa: F401  (fixtures)

REPO = Path(__file__).resolve().parents[2]
BASE = ["tracking.enabled=false", "readiness.enabled=false", "+target=compose"]


class Builds:
    def __init__(self, root: Path):
        self.root = root
        self.project = root / "quickstart"
        shutil.copytree(REPO / "examples" / "quickstart", self.project,
                        ignore=shutil.ignore_patterns("build", ".mlready", "__pycache__", "mlruns"))
        self._done: dict[tuple[str, ...], Path] = {}

    def build(self, *overrides: str) -> Path:
        if overrides not in self._done:
            out = self.root / f"out{len(self._done)}"
            api.build(self.project, [*BASE, *overrides], out=out, run_hooks=False)
            self._done[overrides] = out
        return self._done[overrides]


@pytest.fixture(scope="session")
def builds(tmp_path_factory) -> Builds:
    return Builds(tmp_path_factory.mktemp("compose"))
