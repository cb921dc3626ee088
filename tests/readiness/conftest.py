"""Fixtures for readiness tests: real data (scikit-learn's bundled sets), real fitted models, real builds."""

from __future__ import annotations

import io
import json
import shutil
import textwrap
from pathlib import Path

import joblib
import pandas as pd
import pytest
from mlready.engine import api
from mlready.engine.errors import BuildFailed, SpecError
from mlready.generators.model import ModelGenerator
from mlready.generators.readiness import ReadinessGenerator
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

GENERATORS = [ModelGenerator(), ReadinessGenerator()]


def split(frame: pd.DataFrame, stratify: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    return train_test_split(
        frame, test_size=0.3, random_state=0, stratify=frame["target"] if stratify else None
    )


def csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, float_format="%.6g")


def dumped(model) -> bytes:
    buf = io.BytesIO()
    joblib.dump(model, buf)
    return buf.getvalue()


@pytest.fixture(scope="session")
def cancer() -> dict[str, object]:
    """Breast cancer (binary, 30 features): train/eval CSV text and a fitted scaled logistic regression."""
    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    train, test = split(frame)
    features = [c for c in frame.columns if c != "target"]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(
        train[features], train["target"]
    )
    return {"train": train, "eval": test, "features": features, "model": model, "joblib": dumped(model)}


@pytest.fixture(scope="session")
def iris() -> dict[str, object]:
    frame = load_iris(as_frame=True).frame
    frame.columns = [c.replace(" (cm)", "").replace(" ", "_") for c in frame.columns]
    train, test = split(frame)
    features = [c for c in frame.columns if c != "target"]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(
        train[features].to_numpy(), train["target"]
    )
    return {"train": train, "eval": test, "features": features, "model": model, "joblib": dumped(model)}


@pytest.fixture(scope="session")
def diabetes() -> dict[str, object]:
    frame = load_diabetes(as_frame=True).frame
    train, test = split(frame, stratify=False)
    features = [c for c in frame.columns if c != "target"]
    model = Ridge(alpha=0.1).fit(train[features], train["target"])
    return {"train": train, "eval": test, "features": features, "model": model, "joblib": dumped(model)}


def deploy(extra: str = "", data: str = "  train: data/train.csv\n  eval: data/eval.csv\n") -> str:
    return (
        "project:\n  name: demo\nmodel:\n  source: model.joblib\n"
        + ("data:\n" + data if data else "")
        + textwrap.dedent(extra)
    )


@pytest.fixture
def project(tmp_path, monkeypatch):
    """project(files) -> project dir: files are text (dedented), bytes, or a Path to copy."""

    def make(files: dict[str, str | bytes | Path]) -> Path:
        root = tmp_path / "proj"
        for rel, content in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Path):
                shutil.copyfile(content, path)
            elif isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
        monkeypatch.chdir(root)
        monkeypatch.setenv("MLREADY_CACHE_DIR", str(tmp_path / "cache"))
        return root

    return make


@pytest.fixture
def cancer_project(project, cancer):
    """project_with(extra_yaml, **file overrides) -> a breast-cancer project dir."""

    def make(extra: str = "", **files: str | bytes) -> Path:
        base = {
            "model.joblib": cancer["joblib"],
            "data/train.csv": csv(cancer["train"]),
            "data/eval.csv": csv(cancer["eval"]),
            "deploy.yaml": deploy(extra),
        }
        base.update({k.replace("__", "/").replace("_csv", ".csv"): v for k, v in files.items()})
        return project(base)

    return make


class Helpers:
    """Build helpers, handed to tests by the ``h`` fixture (conftest modules are not importable)."""

    csv = staticmethod(csv)
    deploy = staticmethod(deploy)
    dumped = staticmethod(dumped)

    @staticmethod
    def build(root: Path, overrides: list[str] | None = None):
        return api.build(root, overrides or [], generators=GENERATORS, run_hooks=False)

    @staticmethod
    def build_fails(root: Path, overrides: list[str] | None = None) -> str:
        with pytest.raises(BuildFailed) as info:
            api.build(root, overrides or [], generators=GENERATORS, run_hooks=False)
        return str(info.value)

    @staticmethod
    def spec_problems(root: Path, overrides: list[str] | None = None) -> list[str]:
        with pytest.raises(SpecError) as info:
            api.validate(root, overrides or [], generators=GENERATORS)
        return [str(p) for p in info.value.problems]

    @staticmethod
    def report(root: Path, out: str = "build") -> dict:
        return json.loads((root / out / "reports" / "readiness.json").read_text())

    @staticmethod
    def failed_report(root: Path) -> dict:
        return json.loads((root / ".mlready" / "failed-build" / "reports" / "readiness.json").read_text())


@pytest.fixture
def h() -> type[Helpers]:
    return Helpers
