"""The tabular and regression examples build as a newcomer would build them, and their gates mean something.

Each example is copied as it is committed and built with ``"+target=[docker,k8s]"``; the readiness gates must
pass, and the report's numbers are checked against the served ONNX model run here with onnxruntime on the
same evaluation file (so the gates evaluate what the image serves, not the scikit-learn pipeline).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
from mlready.engine.cli import main
from mlready.engine.registry import generators
from mlready.generators._shared.feeds import frame_feeds
from sklearn.metrics import accuracy_score, r2_score

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
pytestmark = pytest.mark.slow


def build(name: str, tmp_path: Path, monkeypatch, capsys) -> Path:
    root = tmp_path / name
    shutil.copytree(EXAMPLES / name, root, ignore=shutil.ignore_patterns("build", ".mlready", "__pycache__"))
    monkeypatch.setenv("MLREADY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MLREADY_TRACKING", "0")
    generators.cache_clear()
    rc = main(["build", "-C", str(root), "+target=[docker,k8s]"])
    err = capsys.readouterr().err
    assert rc == 0, err
    return root / "build"


def served(build_dir: Path, eval_csv: Path, target: str) -> tuple[dict, pd.DataFrame, list[np.ndarray]]:
    sig = json.loads((build_dir / "model" / "signature.json").read_text())
    frame = pd.read_csv(eval_csv)
    sess = ort.InferenceSession(str(build_dir / "model" / "model.onnx"), providers=["CPUExecutionProvider"])
    return sig, frame, sess.run(None, frame_feeds(frame, sig["inputs"], sig["features"], eval_csv.name))


def test_tabular_example(tmp_path, monkeypatch, capsys):
    out = build("tabular", tmp_path, monkeypatch, capsys)
    report = json.loads((out / "reports" / "readiness.json").read_text())
    assert report["status"] == "passed" and report["summary"]["failed"] == 0 and report["summary"]["gates"] >= 8
    sig, frame, (labels, proba) = served(out, EXAMPLES / "tabular" / "data" / "eval.csv", "churned")
    assert {i["datatype"] for i in sig["inputs"]} == {"BYTES", "FP32", "BOOL"}  # strings stay strings
    assert sig["class_names"] == ["stays", "churns"]
    # the gate values are the served ONNX model's on data/eval.csv
    assert report["eval"]["metrics"]["accuracy"] == pytest.approx(accuracy_score(frame["churned"], labels.ravel()), abs=1e-6)
    assert frame["monthly_charges"].isna().any()  # missing values reached the model's imputer
    assert report["parity"]["metrics"]["parity.agreement"] == 1.0
    assert report["parity"]["metrics"]["parity.max_abs_diff"] <= 1e-5
    assert report["cv"]["skipped"] is None
    measures = {f["feature"]: f["measure"] for f in report["sample"]["checks"]["features"]}
    assert measures["state"] == measures["plan"] == "category_psi"
    assert measures["tenure_months"] == "quantile_psi"
    assert (out / "docker" / "Dockerfile").is_file() and any((out / "k8s").rglob("*.yaml"))


def test_regression_example(tmp_path, monkeypatch, capsys):
    out = build("regression", tmp_path, monkeypatch, capsys)
    report = json.loads((out / "reports" / "readiness.json").read_text())
    assert report["status"] == "passed" and report["summary"]["failed"] == 0
    sig, frame, (pred,) = served(out, EXAMPLES / "regression" / "data" / "eval.csv", "progression")
    assert sig["task"] == "regression" and "class_names" not in sig
    assert [f["index"] for f in sig["features"]] == list(range(10))
    assert report["eval"]["metrics"]["r2"] == pytest.approx(r2_score(frame["progression"], pred.ravel()), abs=1e-5)
    assert report["parity"]["metrics"]["parity.max_abs_diff"] <= 1e-3
