"""The cloud batch jobs' request shapes, sent to a real model server on loopback the way each platform sends
them, read off the generated job files: SageMaker Batch Transform (``transform-job.json``: the file's lines as
``ContentType`` CSV, split into several requests, the header only in the first) and Vertex AI batch prediction
(``batch-prediction-job.json``: ``{"instances": [...]}`` of ``batchSize`` objects keyed by column, the
``keyField`` left out). The answers equal ``mlready score``'s on the same rows (examples/tabular: mixed types,
missing values)."""

from __future__ import annotations

import json
import math

import httpx
import numpy as np
import pandas as pd
import pytest
from mlready.engine.actions.serve import prepare_project
from mlready.engine.cli import main

from tests.runtime.conftest import start_server

pytestmark = [pytest.mark.server, pytest.mark.slow]
PREDICT_ROUTE = "/predict"  # +target=vertex's model.json predictRoute: Vertex hands it to the container
JOBS = ["+target=batch", "target.batch.platforms=[sagemaker,vertex]", "target.batch.keep=[]",
        "target.batch.sagemaker.input=s3://b/in/", "target.batch.sagemaker.output=s3://b/out/",
        "target.batch.vertex.input=gs://b/in/rows.jsonl", "target.batch.vertex.output=gs://b/out/",
        "target.batch.vertex.batch_size=64"]


@pytest.fixture(scope="module")
def served(tab, tmp_path_factory):
    out = tab.build(*JOBS)
    workdir = tmp_path_factory.mktemp("serve")
    repo, _ = prepare_project(tab.project, out, workdir)
    server = start_server(workdir, repo, env={"AIP_PREDICT_ROUTE": PREDICT_ROUTE})
    frame = pd.read_csv(tab.project / "data" / "eval.csv").drop(columns=["churned"])
    src = workdir / "rows.parquet"
    frame.to_parquet(src, index=False)
    assert main(["score", "-C", str(tab.project), "--out", str(out), "--no-progress", "-i", str(src),
                 "-o", str(workdir / "want.parquet")]) == 0
    try:
        yield out, server, frame, pd.read_parquet(workdir / "want.parquet")
    finally:
        server.stop()


def _check(predictions: list[dict], want: pd.DataFrame) -> None:
    assert len(predictions) == len(want)
    assert [p["label"] for p in predictions] == want["label"].tolist()
    got = np.array([[p["probabilities"]["stays"], p["probabilities"]["churns"]] for p in predictions])
    np.testing.assert_allclose(got, want[["probability_stays", "probability_churns"]].to_numpy(), atol=1e-6)


def test_sagemaker_batch_transform_requests(served):
    out, server, frame, want = served
    job = json.loads((out / "batch/sagemaker/transform-job.json").read_text())
    assert (job["TransformInput"]["SplitType"], job["BatchStrategy"]) == ("Line", "MultiRecord")
    lines = frame.to_csv(index=False).splitlines()  # a CSV file with its header line, features in order
    chunks = [lines[i:i + 120] for i in range(0, len(lines), 120)]  # MultiRecord: many lines per request
    assert len(chunks) > 3 and sum(len("\n".join(c)) for c in chunks) < job["MaxPayloadInMB"] * 1024 * 1024
    predictions = []
    for chunk in chunks:
        r = httpx.post(server.url + "/invocations", content="\n".join(chunk).encode(), timeout=30,
                       headers={"Content-Type": job["TransformInput"]["ContentType"],
                                "Accept": job["TransformOutput"]["Accept"]})
        assert r.status_code == 200, r.text
        predictions += r.json()["predictions"]
    _check(predictions, want)


def test_vertex_batch_prediction_requests(served):
    out, server, frame, want = served
    job = json.loads((out / "batch/vertex/batch-prediction-job.json").read_text())
    assert job["instanceConfig"] == {"instanceType": "object"} and job["inputConfig"]["instancesFormat"] == "jsonl"
    size = job["manualBatchTuningParameters"]["batchSize"]
    rows = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
            for row in json.loads(frame.to_json(orient="records"))]  # JSON Lines, a missing number as null
    predictions = []
    for i in range(0, len(rows), size):
        r = httpx.post(server.url + PREDICT_ROUTE, json={"instances": rows[i:i + size]}, timeout=30)
        assert r.status_code == 200, r.text
        predictions += r.json()["predictions"]
    _check(predictions, want)
