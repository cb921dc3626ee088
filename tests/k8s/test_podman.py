"""Smoke run of the bundle: the rendered dev overlay under `podman kube play`, on the quickstart's real image.

The image is built by the Docker target's own workflow (`mlready image` as a function) on the podman
harness; the overlay is rendered by `kubectl kustomize` and played as is (digest-pinned image, non-root,
read-only root filesystem, ConfigMap-mounted runtime config, emptyDir /tmp). The serving ports are set to
free ports through the spec: the ConfigMap then replaces the image's runtime.json, so the server answering
on them also proves the mounted config is the one in use. The model repository is at a non-default path
(``serving.model_repository``, the one key for it): the image copies the models there and the ConfigMap that
replaces the image's config looks there.
"""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest
import yaml
from mlready.engine import api
from mlready.engine.actions.image import build_and_check

from tests.k8s.helpers import copy_quickstart, kubectl
from tests.support.containers import DEFAULT_BASE_IMAGE, podman
from tests.support.k8s_checks import get, played_container, predicts_like_onnxruntime, wait_ready

pytestmark = [pytest.mark.container, pytest.mark.tools, pytest.mark.slow]
NAME = "k8s-smoke"
REPOSITORY = "/srv/ml/models"  # not the default /opt/mlready/models


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@pytest.fixture(scope="module")
def played(tmp_path_factory, docker_client, base_image):
    project = copy_quickstart(tmp_path_factory.mktemp("podman") / NAME)
    common = ["tracking.enabled=false", f"project.name={NAME}",
              f"target.docker.base_image={base_image or DEFAULT_BASE_IMAGE}", f"serving.model_repository={REPOSITORY}"]
    report = build_and_check(project, [*common, "+target=docker"])
    assert report.digest and json.loads((project / ".mlready/image.json").read_text())["digest"] == report.digest
    http, grpc, metrics = _free_ports(3)
    result = api.build(project, [*common, "+target=[docker,k8s]", "target.k8s.image_pull_policy=IfNotPresent",
                                 f"serving.http_port={http}", f"serving.grpc_port={grpc}",
                                 f"serving.metrics_port={metrics}"], run_hooks=False)
    rendered = subprocess.run([kubectl(), "kustomize", str(result.out_dir / "k8s/overlays/dev")],
                              capture_output=True, text=True, check=True, timeout=120).stdout
    path = Path(tmp_path_factory.mktemp("play")) / "dev.yaml"
    path.write_text(rendered)
    podman("kube", "down", str(path), check=False)
    podman("kube", "play", str(path), timeout=300)
    try:
        yield {"project": project, "spec": result.spec, "http": http, "grpc": grpc, "digest": report.digest, "yaml": rendered,
               "out": result.out_dir}
    finally:
        podman("kube", "down", str(path), check=False)


def _container() -> dict:
    return played_container(NAME)


def test_pod_gets_ready_and_answers_a_prediction(played):
    base = f"http://127.0.0.1:{played['http']}"
    status = wait_ready(base)
    logs = podman("logs", _container()["Id"], check=False).stdout[-3000:]
    assert status == 200, logs
    spec = played["spec"]
    body, raw = predicts_like_onnxruntime(base, spec, played["out"])
    # the same rows over gRPC, with tritonclient's gRPC client, give the same answer as REST
    import numpy as np
    import tritonclient.grpc as tg

    client = tg.InferenceServerClient(f"127.0.0.1:{played['grpc']}")
    assert client.is_server_ready() and client.is_model_ready(spec.model_name)
    inputs = []
    for t in body["inputs"]:
        inp = tg.InferInput(t["name"], t["shape"], t["datatype"])
        inp.set_data_from_numpy(np.asarray(t["data"], dtype=np.float32 if t["datatype"] == "FP32" else None)
                                .reshape(t["shape"]))
        inputs.append(inp)
    result = client.infer(spec.model_name, inputs)
    rest = {o["name"]: np.asarray(o["data"]).reshape(o["shape"]) for o in json.loads(raw)["outputs"]}
    assert np.allclose(result.as_numpy("probabilities"), rest["probabilities"], atol=1e-6)
    # the label is the class name: BYTES, which tritonclient gives as bytes and JSON as text
    assert [x.decode() for x in result.as_numpy("label").tolist()] == rest["label"].tolist()


def test_pod_serves_from_the_one_model_repository_path(played):
    """The ConfigMap's config and the image agree on the non-default path (the model answered above from
    there); the server reports mlready's own version, written into the image."""
    from mlready.engine.version import mlready_version

    configmap = next(d for d in yaml.safe_load_all(played["yaml"]) if d and d["kind"] == "ConfigMap")
    assert json.loads(configmap["data"]["runtime.json"])["model_repository"] == REPOSITORY
    dockerfile = (played["out"] / "docker" / "Dockerfile").read_text()
    assert f"COPY model-repository/ {REPOSITORY}/" in dockerfile
    code, raw = get(f"http://127.0.0.1:{played['http']}/v2")
    assert code == 200 and json.loads(raw)["version"] == mlready_version()


def test_pod_runs_hardened_from_the_pinned_image(played):
    c = _container()
    assert played["digest"] in c["ImageName"]
    assert c["Config"]["User"] == "10001:10001"
    assert c["HostConfig"]["ReadonlyRootfs"] is True
    mounts = {m["Destination"] for m in c["Mounts"]}
    assert {"/tmp", "/etc/mlready"} <= mounts
