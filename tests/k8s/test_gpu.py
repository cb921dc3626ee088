"""GPU scheduling: the GPU image (``target.docker.variant: gpu``, or auto with CUDA/TensorRT providers) gets its
device limit and the node selector, tolerations and runtime class of ``target.k8s.gpu``, in the k8s bundle
and in the KServe InferenceService; the CPU image gets none of them."""

from __future__ import annotations

import pytest
import yaml
from mlready.generators.kserve import schema

from tests.k8s.helpers import GPU, by_kind, load, render

SCHEDULING = {"nodeSelector": {"nvidia.com/gpu.present": "true"},
              "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
              "runtimeClassName": "nvidia"}


def _pod(deployment: dict) -> dict:
    return deployment["spec"]["template"]["spec"]


@pytest.mark.parametrize("gpu", [GPU, ("optimize.providers.order=[cuda]", *GPU[1:])], ids=["explicit", "auto"])
def test_gpu_image_requests_a_gpu_on_a_gpu_node(bundles, gpu):
    out = bundles.build(*gpu, "target.k8s.gpu.count=2")
    for env in ("dev", "prod"):  # the prod overlay's resources patch keeps the device limit
        pod = _pod(by_kind(render(out / "k8s/overlays" / env), "Deployment"))
        assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "2", env
        assert {k: pod.get(k) for k in SCHEDULING} == SCHEDULING, env


def test_cpu_image_has_no_gpu_fields(default_out):
    pod = _pod(load(default_out / "k8s/base/deployment.yaml"))
    assert "nvidia.com/gpu" not in pod["containers"][0]["resources"]["limits"]
    assert not set(SCHEDULING) & set(pod)


def test_kserve_predictor_gets_the_gpu_too(bundles):
    out = bundles.build(*GPU, targets="[k8s,kserve]")
    doc = yaml.safe_load((out / "kserve/inferenceservice.yaml").read_text())
    predictor = doc["spec"]["predictor"]
    assert predictor["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert {k: predictor.get(k) for k in SCHEDULING} == SCHEDULING
    assert schema.problems(doc) == []
