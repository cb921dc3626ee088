"""mypy over the build side: ``engine/`` strict, ``generators/`` normal (config: ``[tool.mypy]`` in pyproject).

The folders are mapped into the ``mlready`` namespace by setuptools' package-dir, which mypy cannot follow:
the test lays out a shadow tree of symlinks (``mlready/engine -> engine``, ...) and checks the packages there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"engine": "engine", "generators": "generators", "runtime": "runtime", "templates": "templates",
           "conf": "conf"}


@pytest.mark.slow
def test_mypy_passes_on_engine_strict_and_generators(tmp_path):
    shadow = tmp_path / "shadow"
    (shadow / "mlready").mkdir(parents=True)
    for name, folder in FOLDERS.items():
        (shadow / "mlready" / name).symlink_to(ROOT / folder, target_is_directory=True)
    cache = Path(os.environ.get("MLREADY_MYPY_CACHE", ROOT / ".mypy_cache"))
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(cache),
         "--no-error-summary", "-p", "mlready.engine", "-p", "mlready.generators"],
        cwd=shadow, env={**os.environ, "MYPYPATH": str(shadow)}, capture_output=True, text=True, timeout=600,
    )
    report = proc.stdout.replace("mlready/engine/", "engine/").replace("mlready/generators/", "generators/")
    assert proc.returncode == 0, f"mypy found problems:\n{report}{proc.stderr}"
