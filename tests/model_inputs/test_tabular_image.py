"""examples/tabular as a newcomer ships it: built with ``+target=[docker,k8s]`` (its gates pass), its image built
and smoke-tested on the podman harness (the smoke request feeds every per-column input: strings as BYTES,
booleans as BOOL), then asked by feature name with the table's own values — strings, integers, booleans — and
answering with the class names and the ONNX model's probabilities."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
from mlready.generators._shared.feeds import frame_feeds

from tests.docker.conftest import BASE
from tests.support.containers import base_image, docker_client, host_port, run_container, wait_http  # noqa: F401
from tests.support.example_image import build_example_image

pytestmark = [pytest.mark.container, pytest.mark.slow]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tabular"


@pytest.fixture(scope="module")
def example(tmp_path_factory, docker_client, base_image):  # noqa: F811
    return build_example_image(tmp_path_factory, EXAMPLE, BASE)


def test_tabular_example_image_answers_mixed_type_rows_by_name(example, docker_client):  # noqa: F811
    project, report = example
    assert report.smoke is not None and report.smoke.max_abs_diff < 1e-4
    assert json.loads((project / "build" / "reports" / "readiness.json").read_text())["status"] == "passed"
    sig = json.loads((project / "build" / "model" / "signature.json").read_text())
    frame = pd.read_csv(project / "data" / "eval.csv")
    rows = frame[[f["name"] for f in sig["features"]]].dropna().head(6).reset_index(drop=True)
    sess = ort.InferenceSession(str(project / "build" / "model" / "model.onnx"), providers=["CPUExecutionProvider"])
    _, proba = sess.run(["label", "probabilities"], frame_feeds(rows, sig["inputs"], sig["features"], "eval"))
    names = sig["class_names"]
    want = [names[i] for i in proba.argmax(axis=1)]
    records = [
        {"state": r.state, "plan": r.plan, "tenure_months": int(r.tenure_months),
         "monthly_charges": float(r.monthly_charges), "support_calls": int(r.support_calls), "autopay": bool(r.autopay)}
        for r in rows.itertuples()
    ]
    with run_container(docker_client, report.id, read_only=True, tmpfs={"/tmp": ""},
                       ports={"8080/tcp": ("127.0.0.1", None)}) as c:
        url = f"http://127.0.0.1:{host_port(c, '8080/tcp')}"
        wait_http(f"{url}/v2/health/ready", timeout=60, container=c)
        got = httpx.post(f"{url}/v1/models/churn-tabular:predict", json={"instances": records}, timeout=30).json()
        assert [p["label"] for p in got["predictions"]] == want, got
        np.testing.assert_allclose([[p["probabilities"][n] for n in names] for p in got["predictions"]], proba,
                                   atol=1e-5)
        meta = httpx.get(f"{url}/v2/models/churn-tabular", timeout=30).json()
        assert meta["parameters"]["features"] == sig["features"]
