"""Smoke run of the chart: rendered by Helm with the prod values and played by `podman kube play` on the
quickstart's real image (built by `mlready image`'s own workflow): the pod gets ready and answers a
prediction equal to onnxruntime's, from the digest-pinned image, with the prod resources."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from mlready.engine import api
from mlready.engine.actions.image import build_and_check

from tests.helm.helpers import chart_dir, objects, render, values_file
from tests.k8s.helpers import copy_quickstart
from tests.k8s.test_podman import _free_ports
from tests.support.containers import DEFAULT_BASE_IMAGE, podman
from tests.support.k8s_checks import played_container, predicts_like_onnxruntime, wait_ready

pytestmark = [pytest.mark.container, pytest.mark.tools, pytest.mark.slow]
NAME = "helm-smoke"


@pytest.fixture(scope="module")
def played(tmp_path_factory, docker_client, base_image):
    project = copy_quickstart(tmp_path_factory.mktemp("podman") / NAME)
    common = ["tracking.enabled=false", f"project.name={NAME}", f"target.docker.base_image={base_image or DEFAULT_BASE_IMAGE}"]
    report = build_and_check(project, [*common, "+target=docker"])
    assert report.digest
    http, grpc, metrics = _free_ports(3)
    result = api.build(project, [*common, "+target=[docker,helm]", "target.k8s.image_pull_policy=IfNotPresent",
                                 f"serving.http_port={http}", f"serving.grpc_port={grpc}",
                                 f"serving.metrics_port={metrics}"], run_hooks=False)
    chart = chart_dir(result.out_dir)
    prod = values_file(chart, "prod")
    docs = objects(render(chart, prod, f"{NAME}-prod", release=NAME))
    path = Path(tmp_path_factory.mktemp("play")) / "prod.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    podman("kube", "down", str(path), check=False)
    podman("kube", "play", str(path), timeout=300)
    try:
        yield {"spec": result.spec, "http": http, "digest": report.digest, "docs": docs, "out": result.out_dir,
               "values": prod}
    finally:
        podman("kube", "down", str(path), check=False)


def _container() -> dict:
    return played_container(NAME)


def test_prod_values_pod_gets_ready_and_answers_a_prediction(played):
    assert played["values"]["environment"] == "prod" and played["values"]["image"]["digest"] == played["digest"]
    assert {d["kind"] for d in played["docs"]} >= {"Deployment", "ConfigMap", "HorizontalPodAutoscaler"}
    base = f"http://127.0.0.1:{played['http']}"
    status = wait_ready(base)
    c = _container()
    assert status == 200, podman("logs", c["Id"], check=False).stdout[-3000:]
    predicts_like_onnxruntime(base, played["spec"], played["out"])
    assert played["digest"] in c["ImageName"]  # values-prod.yaml pins the image by digest
    assert c["HostConfig"]["ReadonlyRootfs"] is True and c["Config"]["User"] == "10001:10001"
    assert c["HostConfig"]["Memory"] == 2 * 1024**3  # the prod memory limit (dev's is 1Gi)
