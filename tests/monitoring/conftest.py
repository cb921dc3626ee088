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


#: the drift tests' build: the quickstart with its data (the reference), short drift windows, and a drift gate
#: tighter than the default so the tests can tell the gate's threshold (0.2) from the default (0.25)
DRIFT_OVERRIDES = ["+monitoring=grafana", "readiness.enabled=false", "data.sample=data/eval.csv",
                   "readiness.sample.gates=['drift.psi.max <= 0.2']", "monitoring.prometheus.drift.window=20s",
                   "monitoring.prometheus.drift.alert_for=5s", "monitoring.prometheus.drift.min_rows=20"]


def build_quickstart(tmp_path_factory: pytest.TempPathFactory, name: str, overrides: list[str],
                     source: Path = QUICKSTART) -> Path:
    """A copy of the quickstart (or another example: ``source``, with its data) built in-process with
    ``overrides``; its build dir."""
    from mlready.engine import api

    dest = tmp_path_factory.mktemp(name) / "project"
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("build", ".mlready"))
    mp = pytest.MonkeyPatch()
    mp.setenv("MLREADY_CACHE_DIR", str(tmp_path_factory.mktemp(f"{name}-cache")))
    try:
        return api.build(dest, overrides, out=dest / "build").out_dir
    finally:
        mp.undo()


@pytest.fixture(scope="session")
def drift_built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_quickstart(tmp_path_factory, "drift", DRIFT_OVERRIDES)
