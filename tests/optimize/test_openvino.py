"""The OpenVINO execution provider on the CPU, with the settings this generator emits.

onnxruntime-openvino replaces the onnxruntime wheel, so it lives in its own venv
(``.tools/onnxruntime-openvino``, created on first use from PyPI; or ``MLREADY_OPENVINO_PYTHON``). The served
model runs there under ``OpenVINOExecutionProvider`` with the options from ``model/providers.json`` and must
give the CPU provider's labels and probabilities.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".tools" / "onnxruntime-openvino"

CHILD = """
import json, sys, numpy as np, onnxruntime as ort
cfg = json.load(open(sys.argv[2]))
x = np.load(sys.argv[3])
sess = ort.InferenceSession(sys.argv[1], providers=[p["name"] for p in cfg["providers"]],
                            provider_options=[p["options"] for p in cfg["providers"]])
label, proba = sess.run(None, {"input": x})
np.save(sys.argv[4], proba)
print(json.dumps({"providers": sess.get_providers(), "label": label.tolist()}))
"""


def openvino_python() -> str:
    explicit = os.environ.get("MLREADY_OPENVINO_PYTHON")
    if explicit:
        return explicit
    py = VENV / "bin" / "python"
    if not (VENV / ".installed").is_file():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "onnxruntime-openvino", "numpy"], check=True,
                       timeout=900)
        (VENV / ".installed").touch()
    return str(py)


@pytest.mark.tools
@pytest.mark.slow
def test_openvino_provider_runs_the_served_model_on_cpu(project, build, cancer, tmp_path):
    out = tmp_path / "out"
    build(project(), ["optimize=int8", "optimize.measure.require_faster=false",
                      "optimize.providers.order=[openvino]", "optimize.providers.openvino.device_type=CPU"], out=out)
    cfg = json.loads((out / "model/providers.json").read_text())
    assert cfg["onnxruntime_package"] == "onnxruntime-openvino"
    assert cfg["providers"][0] == {"name": "OpenVINOExecutionProvider",
                                   "options": {"device_type": "CPU", "num_streams": "1", "precision": "FP32"}}
    x = cancer["x_eval"]
    np.save(tmp_path / "x.npy", x)
    proc = subprocess.run([openvino_python(), "-c", CHILD, str(out / "model/model.onnx"),
                           str(out / "model/providers.json"), str(tmp_path / "x.npy"), str(tmp_path / "p.npy")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["providers"][0] == "OpenVINOExecutionProvider"
    ref = ort.InferenceSession(str(out / "model/model.onnx"), providers=["CPUExecutionProvider"])
    label, proba = ref.run(None, {"input": x})
    assert np.mean(np.array(got["label"]) == label) >= 0.99
    assert np.max(np.abs(np.load(tmp_path / "p.npy") - proba)) < 1e-2
