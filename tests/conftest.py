"""Suite-wide settings."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
#: tests that exercise MLflow tracking on purpose; everywhere else a build skips the tracking hook (~2 s each)
TRACKED = (HERE / "lifecycle", HERE / "functional" / "test_quickstart.py")


@pytest.fixture(autouse=True)
def _tracking_only_where_tested(request, monkeypatch):
    path = Path(str(request.node.path))
    if not any(path == t or t in path.parents for t in TRACKED):
        monkeypatch.setenv("MLREADY_TRACKING", "0")
