"""Builds of the quickstart project with the cloud targets, shared by the session (one project copy, one cache)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from mlready.engine import api

from tests.support.containers import base_image, docker_client  # noqa: F401  (fixtures)

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "examples" / "quickstart"
BASE = ["tracking.enabled=false", "readiness.enabled=false"]


class Builds:
    """Builds of one copy of the quickstart (or ``example``; one step cache), each variant once; also used by
    tests/compose and tests/batch."""

    def __init__(self, root: Path, base: list[str] = BASE, example: Path = QUICKSTART):
        self.root, self.base = root, list(base)
        self.project = root / example.name
        shutil.copytree(example, self.project,
                        ignore=shutil.ignore_patterns("build", ".mlready", "__pycache__", "mlruns"))
        self._done: dict[tuple[str, ...], Path] = {}

    def build(self, *overrides: str) -> Path:
        if overrides not in self._done:
            out = self.root / f"out{len(self._done)}"
            api.build(self.project, [*self.base, *overrides], out=out, run_hooks=False)
            self._done[overrides] = out
        return self._done[overrides]


@pytest.fixture(scope="session")
def builds(tmp_path_factory) -> Builds:
    return Builds(tmp_path_factory.mktemp("cloud"))


def tool_python(name: str) -> Path:
    python = REPO / ".tools" / name / "bin" / "python"
    if not python.exists():
        pytest.fail(f"{python} is missing: run tools/install-python-tools.sh", pytrace=False)
    return python


def run_sdk(venv: str, script: str, args: list[str]) -> dict:
    """Run one of this folder's loader scripts in an isolated SDK venv; its JSON result by file."""
    proc = subprocess.run([str(tool_python(venv)), str(Path(__file__).parent / script), *args],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])
