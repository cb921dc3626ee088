"""The built image answers on the routes and port the cloud artifacts declare (run as each cloud would run it).

Vertex AI: the container gets ``AIP_HTTP_PORT``, ``AIP_HEALTH_ROUTE`` and ``AIP_PREDICT_ROUTE`` from the
``containerSpec`` in ``vertex/model.json``; Azure ML probes and scores on the routes of the deployment YAML;
SageMaker calls ``GET /ping`` and ``POST /invocations`` on port 8080. (SageMaker also starts the container with
a ``serve`` argument, which this image's entrypoint does not accept yet: see generators/cloud/README.md.)
"""

from __future__ import annotations

import json
import urllib.request

import numpy as np
import pytest
import yaml
from mlready.engine import api
from mlready.engine.actions.image import build_and_check
from mlready.engine.actions.smoke import eval_rows, expected

from tests.support.containers import host_port, run_container, wait_http

pytestmark = [pytest.mark.container, pytest.mark.slow]
NAME = "mlready-cloud-contract"


def post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200
        return json.loads(resp.read())


def test_image_serves_the_routes_the_cloud_artifacts_declare(builds, docker_client, base_image):
    overrides = ["tracking.enabled=false", "readiness.enabled=false", "+target=[docker,sagemaker,azureml,vertex]",
                 f"project.name={NAME}", f"target.docker.base_image={base_image}"]
    out = builds.root / "contract-out"
    report = build_and_check(builds.project, overrides, smoke=False, out=out)
    container_spec = json.loads((out / "vertex" / "model.json").read_text())["model"]["containerSpec"]
    azure = yaml.safe_load((out / "azureml" / "deployment-blue.yml").read_text())["environment"]["inference_config"]
    port = container_spec["ports"][0]["containerPort"]
    sagemaker = yaml.safe_load((out / "sagemaker" / "endpoint.cfn.yaml").read_text())
    assert sagemaker["Resources"]["Model"]["Properties"]["PrimaryContainer"]["Image"] == {"Ref": "ImageUri"}
    assert port == 8080 and {r["port"] for r in azure.values()} == {8080}  # SageMaker's fixed port, for all three

    repo = out / "docker" / "model-repository" / NAME / "1"
    signature = json.loads((repo / "metadata.json").read_text())
    rows = eval_rows(api.validate(builds.project, overrides), signature, 4)
    _, want = expected(repo / "model.onnx", signature, rows)
    env = {"AIP_HTTP_PORT": str(port), "AIP_HEALTH_ROUTE": container_spec["healthRoute"],
           "AIP_PREDICT_ROUTE": container_spec["predictRoute"]}
    with run_container(docker_client, report.id, environment=env, user="10001:10001", read_only=True,
                       tmpfs={"/tmp": "rw,size=64m"}, ports={f"{port}/tcp": ("127.0.0.1", None)}) as c:
        base = f"http://127.0.0.1:{host_port(c, f'{port}/tcp')}"
        wait_http(base + container_spec["healthRoute"], timeout=60, container=c)  # Vertex health
        for route in ("liveness_route", "readiness_route"):  # Azure probes
            wait_http(base + azure[route]["path"], timeout=10, container=c)
        wait_http(base + "/ping", timeout=10, container=c)  # SageMaker health
        instances = {"instances": rows.astype(np.float32).tolist()}
        for path in (container_spec["predictRoute"], azure["scoring_route"]["path"], "/invocations"):
            reply = post(base + path, instances)
            labels = [p["label"] if isinstance(p, dict) else p for p in reply["predictions"]]
            assert np.array_equal(np.asarray(labels).ravel(), want["label"]), (path, reply)
