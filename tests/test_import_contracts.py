"""The import-linter contracts of ``[tool.importlinter]`` in pyproject.toml hold: generators import the engine
and ``generators._shared``, never each other; ``_shared`` imports no generator; the model server imports
nothing from the build side.

The folders are mapped into the ``mlready`` namespace by setuptools' package-dir, which grimp cannot walk: the
test lays out a shadow tree of symlinks (``mlready/engine -> engine``, ...) and lints the packages there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("engine", "generators", "runtime", "templates", "conf")


def shadow_tree(tmp_path: Path, copy: tuple[str, ...] = ()) -> Path:
    """``tmp/mlready/<folder>``: symlinks to the repo's folders, real copies for those in ``copy``."""
    root = tmp_path / "shadow"
    (root / "mlready").mkdir(parents=True)
    for folder in FOLDERS:
        if folder in copy:
            shutil.copytree(ROOT / folder, root / "mlready" / folder,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (root / "mlready" / folder).symlink_to(ROOT / folder, target_is_directory=True)
    return root


def lint(shadow: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())",
         "--no-cache", str(ROOT / "pyproject.toml")],
        cwd=shadow, env={**os.environ, "PYTHONPATH": str(shadow)}, capture_output=True, text=True, timeout=120,
    )


def test_import_contracts_are_kept(tmp_path):
    proc = lint(shadow_tree(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Contracts: 3 kept, 0 broken." in proc.stdout, proc.stdout


def test_a_generator_importing_another_breaks_the_contract(tmp_path):
    """The contract is live: a new module in docker that imports the k8s generator is reported."""
    shadow = shadow_tree(tmp_path, copy=("generators",))
    (shadow / "mlready" / "generators" / "docker" / "uses_k8s.py").write_text(
        "from mlready.generators.k8s.kustomize import canary_split\n", encoding="utf-8")
    proc = lint(shadow)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "mlready.generators.docker.uses_k8s -> mlready.generators.k8s.kustomize" in proc.stdout, proc.stdout
