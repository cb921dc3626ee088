"""The edge bundle of a per-column model (examples/tabular): the runner reads the CSV's string, integer,
boolean and float columns (empty cells as NaN) through model.json's binding and answers what onnxruntime
answers on the served ONNX model; int8 is not tried, with the reason in the report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
from mlready.engine import api
from mlready.generators._shared.feeds import frame_feeds

from tests.edge.conftest import BASE
from tests.edge.test_edge import run_runner

pytestmark = pytest.mark.slow
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tabular"


def test_tabular_bundle_runner_equals_onnxruntime(tmp_path):
    project = tmp_path / "tabular"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("build", ".mlready", "__pycache__"))
    api.build(project, BASE)
    out = project / "build"
    report = json.loads((out / "edge" / "report.json").read_text())
    assert report["variant"] == "fp32"
    assert report["int8_note"].startswith("int8 not applicable: the model takes state (BYTES), plan (BYTES)")
    meta = json.loads((out / "edge" / "bundle" / "model.json").read_text())
    sig = json.loads((out / "model" / "signature.json").read_text())
    assert meta["binding"] == sig["features"]
    csv = project / "data" / "eval.csv"
    frame = pd.read_csv(csv)
    assert frame["monthly_charges"].isna().any()  # empty cells reach the model as NaN
    got = run_runner(out / "edge" / "bundle", csv)["outputs"]
    sess = ort.InferenceSession(str(out / "model" / "model.onnx"), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    want = dict(zip(names, sess.run(names, frame_feeds(frame, sig["inputs"], sig["features"], "eval")), strict=True))
    for name, ref in want.items():
        arr = np.asarray(got[name], dtype=ref.dtype)
        assert arr.shape == ref.shape and np.array_equal(arr, ref), name
    bench = run_runner(out / "edge" / "bundle", csv, "--benchmark", "20")
    assert bench["calls"] == 20 and bench["p50_ms"] > 0
