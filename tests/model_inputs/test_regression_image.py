"""examples/regression as a newcomer ships it: built with ``+target=[docker,k8s]`` (its gates pass), its image
built and smoke-tested on the podman harness, then asked by feature name in TF Serving rows, v2 per-feature
tensors and MLflow's ``dataframe_records`` — one number per row everywhere, equal to scikit-learn's own
``predict`` on the committed pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import joblib
import numpy as np
import pandas as pd
import pytest

from tests.docker.conftest import BASE
from tests.support.containers import base_image, docker_client, host_port, run_container, wait_http  # noqa: F401
from tests.support.example_image import build_example_image

pytestmark = [pytest.mark.container, pytest.mark.slow]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "regression"
MODEL = "diabetes-regression"


@pytest.fixture(scope="module")
def example(tmp_path_factory, docker_client, base_image):  # noqa: F811
    return build_example_image(tmp_path_factory, EXAMPLE, BASE)


def test_regression_example_image_answers_named_rows_with_one_number_each(example, docker_client):  # noqa: F811
    project, report = example
    assert report.smoke is not None and report.smoke.max_abs_diff < 1e-3
    readiness = json.loads((project / "build" / "reports" / "readiness.json").read_text())
    assert readiness["status"] == "passed"
    rows = pd.read_csv(project / "data" / "eval.csv").drop(columns="progression").head(5)
    want = joblib.load(project / "model.joblib").predict(rows)
    records = rows.to_dict("records")  # plain Python numbers
    with run_container(docker_client, report.id, read_only=True, tmpfs={"/tmp": ""},
                       ports={"8080/tcp": ("127.0.0.1", None)}) as c:
        url = f"http://127.0.0.1:{host_port(c, '8080/tcp')}"
        wait_http(f"{url}/v2/health/ready", timeout=60, container=c)
        tfs = httpx.post(f"{url}/v1/models/{MODEL}:predict", json={"instances": records}, timeout=30).json()
        v2 = httpx.post(f"{url}/v2/models/{MODEL}/infer", timeout=30, json={"inputs": [
            {"name": n, "datatype": "FP32", "shape": [len(rows)], "data": rows[n].astype(float).tolist()}
            for n in rows.columns]}).json()
        mlflow = httpx.post(f"{url}/invocations", json={"dataframe_records": records}, timeout=30).json()
    assert len(tfs["predictions"]) == len(rows) and all(isinstance(p, float) for p in tfs["predictions"]), tfs
    np.testing.assert_allclose(tfs["predictions"], want, rtol=1e-4, atol=1e-3)
    (out,) = v2["outputs"]
    assert out["shape"] == [len(rows)], v2
    np.testing.assert_allclose(out["data"], want, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(mlflow["predictions"], want, rtol=1e-4, atol=1e-3)
