"""An example project's image, asked as a newcomer would: by feature name, in TF Serving rows and the v2
protocol, with the metadata that says how to call it. Shared by the example image tests
(tests/model_inputs/test_*_image.py, test_trees_example.py)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

from tests.support.containers import host_port, run_container, wait_http


def build_example_image(tmp_path_factory: Any, example: Path, base: str) -> tuple[Path, Any]:
    """A copy of ``example`` built with ``+target=[docker,k8s]``; its image built and smoke-tested."""
    from mlready.engine.actions.image import build_and_check

    project = tmp_path_factory.mktemp(f"{example.name}_image") / example.name
    shutil.copytree(example, project, ignore=shutil.ignore_patterns("build", ".mlready", "__pycache__", "mlruns"))
    report = build_and_check(project, ["tracking.enabled=false", "+target=[docker,k8s]",
                                       f"target.docker.base_image={base}"])
    return project, report


def check_named_answers(client: Any, image: str, model: str, rows: pd.DataFrame, expected: np.ndarray,
                        class_names: list[str]) -> None:
    """Run ``image`` and ask it about ``rows`` by feature name (values as the data holds them: numbers, text):
    the labels are the class names of ``expected``'s argmax, the probabilities (keyed by class name) match
    ``expected``, and the v2 metadata publishes the class names and the features in the rows' column order."""
    want = [class_names[i] for i in expected.argmax(axis=1)]
    records = [{k: v.item() if hasattr(v, "item") else v for k, v in r.items()} for r in rows.to_dict("records")]
    with run_container(client, image, read_only=True, tmpfs={"/tmp": ""},
                       ports={"8080/tcp": ("127.0.0.1", None)}) as c:
        url = f"http://127.0.0.1:{host_port(c, '8080/tcp')}"
        wait_http(f"{url}/v2/health/ready", timeout=60, container=c)
        got = httpx.post(f"{url}/v1/models/{model}:predict", json={"instances": records}, timeout=30).json()
        assert [p["label"] for p in got["predictions"]] == want, got
        proba = [[p["probabilities"][n] for n in class_names] for p in got["predictions"]]
        np.testing.assert_allclose(proba, expected, atol=1e-5)
        v2 = {"inputs": [{"name": n, "datatype": _datatype(rows[n]), "shape": [len(rows)], "data": rows[n].tolist()}
                         for n in rows.columns]}
        answer = httpx.post(f"{url}/v2/models/{model}/infer", json=v2, timeout=30).json()
        label = next(o for o in answer["outputs"] if o["name"] == "label")
        assert label["data"] == want, answer
        meta = httpx.get(f"{url}/v2/models/{model}", timeout=30).json()
        assert meta["parameters"]["class_names"] == class_names
        assert [f["name"] for f in meta["parameters"]["features"]] == list(rows.columns)


def _datatype(column: pd.Series) -> str:
    """The v2 datatype a caller would send a column as: text BYTES, integers INT64, numbers FP32."""
    if pd.api.types.is_integer_dtype(column):
        return "INT64"
    return "FP32" if pd.api.types.is_numeric_dtype(column) else "BYTES"
