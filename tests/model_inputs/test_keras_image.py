"""examples/keras as a newcomer ships it: built with ``+target=[docker,k8s]``, its image built and smoke-tested on
the podman harness, then asked by feature name (TF Serving rows and the v2 protocol) — the answers name the
classes and match the Keras model itself."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from mlready.engine.actions.image import build_and_check

from tests.docker.conftest import BASE
from tests.support.containers import base_image, docker_client, host_port, run_container, wait_http  # noqa: F401

pytestmark = [pytest.mark.container, pytest.mark.slow]
keras = pytest.importorskip("keras")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "keras"
CLASS_NAMES = ["barolo", "grignolino", "barbera"]


@pytest.fixture(scope="module")
def example(tmp_path_factory, docker_client, base_image):  # noqa: F811
    project = tmp_path_factory.mktemp("keras_image") / "keras"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("build", ".mlready", "__pycache__", "mlruns"))
    report = build_and_check(project, ["tracking.enabled=false", "+target=[docker,k8s]",
                                       f"target.docker.base_image={BASE}"])
    return project, report


def test_keras_example_image_answers_named_features_with_class_names(example, docker_client):  # noqa: F811
    project, report = example
    assert report.smoke is not None and report.smoke.max_abs_diff < 1e-4
    assert (project / "build" / "k8s" / "base" / "kustomization.yaml").is_file()
    rows = pd.read_csv(project / "data" / "eval.csv").drop(columns="target").head(5)
    records = [{k: float(v) for k, v in r.items()} for r in rows.to_dict("records")]
    expected = keras.saving.load_model(project / "model.keras").predict(rows.to_numpy(np.float32), verbose=0)
    want = [CLASS_NAMES[i] for i in expected.argmax(axis=1)]
    with run_container(docker_client, report.id, read_only=True, tmpfs={"/tmp": ""},
                       ports={"8080/tcp": ("127.0.0.1", None)}) as c:
        url = f"http://127.0.0.1:{host_port(c, '8080/tcp')}"
        wait_http(f"{url}/v2/health/ready", timeout=60, container=c)
        got = httpx.post(f"{url}/v1/models/wine-keras:predict", json={"instances": records}, timeout=30).json()
        assert [p["label"] for p in got["predictions"]] == want, got
        proba = [[p["probabilities"][n] for n in CLASS_NAMES] for p in got["predictions"]]
        np.testing.assert_allclose(proba, expected, atol=1e-5)
        v2 = {"inputs": [{"name": n, "datatype": "FP32", "shape": [len(rows)], "data": rows[n].tolist()}
                         for n in rows.columns]}
        answer = httpx.post(f"{url}/v2/models/wine-keras/infer", json=v2, timeout=30).json()
        label = next(o for o in answer["outputs"] if o["name"] == "label")
        assert label["data"] == want, answer
        meta = httpx.get(f"{url}/v2/models/wine-keras", timeout=30).json()
        assert meta["parameters"]["class_names"] == CLASS_NAMES
        assert [f["name"] for f in meta["parameters"]["features"]] == list(rows.columns)
