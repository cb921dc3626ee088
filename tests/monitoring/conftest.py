"""A real mlready project (a copy of examples/quickstart) built in-process with monitoring on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
OVERRIDES = ["+monitoring=grafana", "monitoring.prometheus.slo.p99_latency_seconds=0.25",
             "monitoring.prometheus.slo.error_ratio=0.02"]


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("monitoring") / "project"
    shutil.copytree(QUICKSTART, dest, ignore=shutil.ignore_patterns("build", ".mlready"))
    spec = (dest / "deploy.yaml").read_text()  # no data section: monitoring does not need the readiness gates
    assert "\ndata:\n" in spec
    (dest / "deploy.yaml").write_text(spec.split("\ndata:\n")[0] + "\n")
    return dest


@pytest.fixture(scope="session")
def built(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mlready.engine import api

    mp = pytest.MonkeyPatch()
    mp.setenv("MLREADY_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    try:
        return api.build(project, OVERRIDES, out=project / "build").out_dir
    finally:
        mp.undo()
