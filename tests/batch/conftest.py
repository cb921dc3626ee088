"""One build of the mixed-type example (examples/tabular) for the batch-scoring tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.batch.target_builds import qs, qs_digest, tab  # noqa: F401  (fixtures: the +target=batch builds)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tabular"


@pytest.fixture(scope="session")
def tabular(tmp_path_factory) -> Path:
    from mlready.engine import api

    root = tmp_path_factory.mktemp("score") / "tabular"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("build", ".mlready", "__pycache__", "mlruns"))
    api.build(root, ["tracking.enabled=false"])
    return root
