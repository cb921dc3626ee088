"""Fixtures for the optimizer: real fitted models (scikit-learn's bundled data), converted with skl2onnx."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
from mlready.engine import api
from mlready.generators.model import ModelGenerator
from mlready.generators.optimize import OptimizeGenerator
from mlready.generators.optimize.config import OptimizeSpec
from mlready.generators.optimize.passes import PassContext
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

GENERATORS = [ModelGenerator(), OptimizeGenerator()]
#: few, short rounds: tests assert behaviour, the benchmark measures
QUICK = ["optimize.measure.rounds=3", "optimize.measure.latency_runs=20", "optimize.measure.throughput_runs=3",
         "optimize.measure.throughput_batch=32", "optimize.measure.memory=false"]


def _fit(model, x, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(x, y)


def convert(model, width: int):
    return to_onnx(model, initial_types=[("input", FloatTensorType([None, width]))],
                   options={"zipmap": False} if hasattr(model, "predict_proba") else None, target_opset=17)


@pytest.fixture(scope="session")
def cancer():
    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    train, test = train_test_split(frame, test_size=0.3, random_state=0, stratify=frame["target"])
    feats = [c for c in frame.columns if c != "target"]
    x_tr = train[feats].to_numpy(np.float32)
    mlp = _fit(make_pipeline(StandardScaler(), MLPClassifier((64, 32), max_iter=300, random_state=0)), x_tr,
               train["target"])
    forest = RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0).fit(x_tr, train["target"])
    return {"train": train, "eval": test, "x_train": x_tr, "x_eval": test[feats].to_numpy(np.float32),
            "y_eval": test["target"].to_numpy(), "mlp": mlp, "forest": forest,
            "mlp_onnx": convert(mlp, len(feats)), "forest_onnx": convert(forest, len(feats))}


@pytest.fixture(scope="session")
def diabetes():
    x, y = load_diabetes(return_X_y=True)
    x = x.astype(np.float32)
    model = _fit(make_pipeline(StandardScaler(), MLPRegressor(hidden_layer_sizes=(32,), max_iter=500, random_state=0)), x, y)
    return {"x": x, "y": y, "onnx": convert(model, x.shape[1])}


@pytest.fixture
def pctx(tmp_path):
    """pctx(model, calib, task="classification", **optimize_config) -> PassContext."""

    def make(model, calib, task="classification", **cfg):
        return PassContext(OptimizeSpec(**cfg), model, calib, task, tmp_path / "scratch")

    return make


def dumped(model) -> bytes:
    buf = io.BytesIO()
    joblib.dump(model, buf)
    return buf.getvalue()


@pytest.fixture
def project(tmp_path, monkeypatch, cancer):
    """project(model=<estimator>) -> a project dir with the breast-cancer data and a deploy.yaml."""

    def make(model=None) -> Path:
        root = tmp_path / "proj"
        (root / "data").mkdir(parents=True)
        cancer["train"].to_csv(root / "data/train.csv", index=False, float_format="%.6g")
        cancer["eval"].to_csv(root / "data/eval.csv", index=False, float_format="%.6g")
        (root / "model.joblib").write_bytes(dumped(model if model is not None else cancer["mlp"]))
        (root / "deploy.yaml").write_text(
            "project:\n  name: demo\nmodel:\n  source: model.joblib\n"
            "data:\n  train: data/train.csv\n  eval: data/eval.csv\n  target: target\n")
        monkeypatch.setenv("MLREADY_CACHE_DIR", str(tmp_path / "cache"))
        return root

    return make


@pytest.fixture
def build():
    """build(root, overrides, out=None) -> BuildResult, with the model and optimize generators only."""

    def run(root: Path, overrides: list[str], out: Path | None = None):
        return api.build(root, [*overrides, *QUICK], out=out, generators=GENERATORS, run_hooks=False)

    return run
