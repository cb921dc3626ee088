from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"


def write_project(root: Path, files: dict[str, str | bytes | Path]) -> Path:
    """Write a project from a dict of relative path -> text (dedented), bytes, or a file to copy."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copyfile(content, path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"))
    return root


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A factory: project({...files}) -> project dir, with the working directory set to it."""

    def make(files: dict[str, str | bytes | Path]) -> Path:
        root = write_project(tmp_path / "proj", files)
        monkeypatch.chdir(root)
        monkeypatch.setenv("MLREADY_CACHE_DIR", str(tmp_path / "cache"))
        return root

    return make


@pytest.fixture
def demo(project, quickstart_files):
    """A project with the quickstart's model and evaluation data and a minimal deploy.yaml."""
    return project({**quickstart_files, "deploy.yaml": "project: {name: demo}\nmodel: {source: model.joblib}\n"
                    "data: {eval: data/eval.csv}\n"})


@pytest.fixture
def quickstart_files() -> dict[str, str | bytes | Path]:
    return {
        "model.joblib": QUICKSTART / "model.joblib",
        "data/eval.csv": QUICKSTART / "data" / "eval.csv",
    }
