"""The GPU image (``target.docker.variant: gpu``) on the cloud targets: GPU instance and machine types (Vertex's
accelerator fields), and a CPU-only type refused as a spec error naming the key, before anything is written."""

from __future__ import annotations

import json

import pytest
import yaml
from mlready.engine import api
from mlready.engine.errors import SpecError

GPU = "target.docker.variant=gpu"


def test_gpu_instance_types_are_written(builds):
    sm = builds.build("+target=sagemaker", GPU, "target.sagemaker.instance_type=ml.g5.xlarge")
    cfn = yaml.safe_load((sm / "sagemaker/endpoint.cfn.yaml").read_text())
    variant = cfn["Resources"]["EndpointConfig"]["Properties"]["ProductionVariants"][0]
    assert variant["InstanceType"] == "ml.g5.xlarge"
    az = builds.build("+target=azureml", GPU, "target.azureml.instance_type=Standard_NC4as_T4_v3")
    assert yaml.safe_load((az / "azureml/deployment-blue.yml").read_text())["instance_type"] == "Standard_NC4as_T4_v3"


@pytest.mark.parametrize(("machine", "extra", "expected"), [
    ("g2-standard-4", [], {"machineType": "g2-standard-4", "acceleratorType": "NVIDIA_L4", "acceleratorCount": 1}),
    ("n1-standard-4", ["target.vertex.accelerator_type=NVIDIA_TESLA_T4", "target.vertex.accelerator_count=2"],
     {"machineType": "n1-standard-4", "acceleratorType": "NVIDIA_TESLA_T4", "acceleratorCount": 2}),
])
def test_vertex_machine_spec_names_the_gpu(builds, machine, extra, expected):
    out = builds.build("+target=vertex", GPU, f"target.vertex.machine_type={machine}", *extra)
    body = json.loads((out / "vertex/deploy-model.json").read_text())
    assert body["deployedModel"]["dedicatedResources"]["machineSpec"] == expected
    script = (out / "vertex/deploy.sh").read_text()
    assert f"--accelerator=type={expected['acceleratorType'].lower().replace('_', '-')},count=" in script


def test_cpu_image_writes_no_accelerator(builds):
    out = builds.build("+target=vertex", "target.vertex.machine_type=g2-standard-4")
    body = json.loads((out / "vertex/deploy-model.json").read_text())
    assert body["deployedModel"]["dedicatedResources"]["machineSpec"] == {"machineType": "g2-standard-4"}


@pytest.mark.parametrize(("overrides", "expected"), [
    (["+target=sagemaker"], "target.sagemaker.instance_type: 'ml.m5.large' has no GPU"),
    (["+target=sagemaker", "target.sagemaker.mode=serverless"], "target.sagemaker.mode: serverless endpoints have no GPU"),
    (["+target=azureml"], "target.azureml.instance_type: 'Standard_DS3_v2' has no GPU"),
    (["+target=vertex"], "target.vertex.machine_type: 'n1-standard-2' has no GPU"),
    (["+target=vertex", "target.vertex.machine_type=e2-standard-4", "target.vertex.accelerator_type=NVIDIA_TESLA_T4"],
     "target.vertex.accelerator_type: only n1 machine types take an attached accelerator"),
])
def test_gpu_image_on_a_cpu_only_type_is_a_spec_error(builds, overrides, expected):
    gpu = [] if "accelerator_type" in overrides[-1] else [GPU]
    with pytest.raises(SpecError) as info:
        api.build(builds.project, [*builds.base, *overrides, *gpu], out=builds.root / "refused", run_hooks=False)
    found = [str(p) for p in info.value.problems]
    assert len(found) == 1 and expected in found[0], found
    assert not (builds.root / "refused").exists()
