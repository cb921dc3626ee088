"""The wheel carries every file of the mapped packages: code, templates, conf, scaffold — dotfiles too."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAPPING = {
    "engine": "mlready/engine",
    "generators": "mlready/generators",
    "templates": "mlready/templates",
    "conf": "mlready/conf",
    "runtime": "mlready/runtime",
    "cookiecutter-project": "mlready/scaffold",
}


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", *MAPPING], cwd=ROOT, capture_output=True, text=True, check=True)
    return [line for line in out.stdout.splitlines() if line and not line.endswith((".pyc",))]


@pytest.mark.slow
def test_wheel_contains_every_package_file(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, text=True,
    )
    wheel = next(tmp_path.glob("mlready-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = []
    for rel in tracked_files():
        top, _, rest = rel.partition("/")
        if rel.endswith("README.md") and top != "cookiecutter-project":
            continue  # package READMEs are documentation for contributors
        expected.append(f"{MAPPING[top]}/{rest}")
    missing = sorted(e for e in expected if e not in names)
    assert not missing, f"files missing from the wheel: {missing}"
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "mlready = mlready.engine.cli:main" in text
    assert "[mlready.generators]" in text
