"""Fixtures for model-input tests: projects written to a temp dir and built in-process through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from mlready.engine.cli import main
from mlready.engine.registry import generators
from sklearn.datasets import load_breast_cancer, load_iris


@pytest.fixture(scope="session")
def cancer_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    shuffled = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    return shuffled.iloc[:400].reset_index(drop=True), shuffled.iloc[400:].reset_index(drop=True)


@pytest.fixture(scope="session")
def iris_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = load_iris(as_frame=True).frame
    frame.columns = ["sl", "sw", "pl", "pw", "target"]
    shuffled = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    return shuffled.iloc[:100].reset_index(drop=True), shuffled.iloc[100:].reset_index(drop=True)


class Project:
    """A project directory with build helpers; ``run`` returns (exit code, stderr) of ``mlready build``."""

    def __init__(self, root: Path, capsys):
        self.root, self.capsys = root, capsys

    def write(self, rel: str, content: str | bytes | pd.DataFrame) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, pd.DataFrame):
            if path.suffix == ".parquet":
                content.to_parquet(path, index=False)
            else:
                content.to_csv(path, index=False, float_format="%.6g")
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return path

    def run(self, *overrides: str) -> tuple[int, str]:
        generators.cache_clear()
        self.capsys.readouterr()
        rc = main(["build", "-C", str(self.root), *overrides])
        err = self.capsys.readouterr().err
        assert "Traceback" not in err and "internal error" not in err, err
        return rc, err

    def report(self) -> dict:
        return json.loads((self.root / "build" / "reports" / "readiness.json").read_text())

    def signature(self) -> dict:
        return json.loads((self.root / "build" / "model" / "signature.json").read_text())


@pytest.fixture
def proj(tmp_path, monkeypatch, capsys) -> Project:
    root = tmp_path / "proj"
    root.mkdir()
    monkeypatch.chdir(root)
    monkeypatch.setenv("MLREADY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MLREADY_TRACKING", "0")  # MLflow tracking is tested elsewhere
    return Project(root, capsys)
