"""SageMaker, Azure ML and Vertex AI artifacts, checked by each provider's own tooling (offline)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from mlready.engine import api
from mlready.engine.errors import SpecError

from tests.cloud.conftest import REPO, run_sdk

SAGEMAKER = ["+target=sagemaker"]
SERVERLESS = ["+target=sagemaker", "target.sagemaker.mode=serverless", "target.sagemaker.serverless.memory_mb=3072"]
AZURE = ["+target=azureml", "target.azureml.traffic={blue:90,green:10}", "target.azureml.instance_count=2",
         "target.docker.registry=example.azurecr.io/ml"]
VERTEX = ["+target=vertex", "target.vertex.traffic={0:20,4711:80}", "target.vertex.max_replicas=4"]


def cfn_lint(*paths: Path) -> subprocess.CompletedProcess:
    exe = REPO / ".tools" / "cfn-lint" / "bin" / "cfn-lint"
    if not exe.exists():
        pytest.fail(f"{exe} is missing: run tools/install-python-tools.sh", pytrace=False)
    return subprocess.run([str(exe), *map(str, paths)], capture_output=True, text=True, timeout=300)


@pytest.mark.tools
def test_sagemaker_templates_pass_cfn_lint_and_a_broken_one_does_not(builds, tmp_path):
    instance = builds.build(*SAGEMAKER) / "sagemaker" / "endpoint.cfn.yaml"
    serverless = builds.build(*SERVERLESS) / "sagemaker" / "endpoint.cfn.yaml"
    broken = tmp_path / "broken.cfn.yaml"
    doc = yaml.safe_load(instance.read_text())
    del doc["Resources"]["Model"]["Properties"]["ExecutionRoleArn"]  # required by AWS::SageMaker::Model
    doc["Resources"]["EndpointConfig"]["Properties"]["ProductionVariants"][0]["InstanceType"] = "ml.m5.larg"
    broken.write_text(yaml.safe_dump(doc))
    ok = cfn_lint(instance, serverless)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = cfn_lint(broken)
    assert bad.returncode != 0 and "ExecutionRoleArn" in bad.stdout and "ml.m5.larg" in bad.stdout, bad.stdout


def test_sagemaker_template_parameters_and_scaling(builds):
    inst = yaml.safe_load((builds.build(*SAGEMAKER) / "sagemaker" / "endpoint.cfn.yaml").read_text())
    params = inst["Parameters"]
    assert "Default" not in params["ExecutionRoleArn"]  # the role is always supplied at deploy time
    assert params["ImageUri"]["Default"] == "quickstart:1.0.0"
    variant = inst["Resources"]["EndpointConfig"]["Properties"]["ProductionVariants"][0]
    assert variant["InstanceType"] == "ml.m5.large" and variant["InitialInstanceCount"] == 1
    assert inst["Resources"]["ScalableTarget"]["Properties"]["MaxCapacity"] == 2
    sls = yaml.safe_load((builds.build(*SERVERLESS) / "sagemaker" / "endpoint.cfn.yaml").read_text())
    variant = sls["Resources"]["EndpointConfig"]["Properties"]["ProductionVariants"][0]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 3072, "MaxConcurrency": 5}
    assert "InstanceType" not in variant and "ScalableTarget" not in sls["Resources"]


@pytest.mark.tools
def test_azureml_yaml_loads_with_the_sdk_and_matches_the_runtime(builds, tmp_path):
    out = builds.build(*AZURE) / "azureml"
    runtime = json.loads((out.parent / "runtime" / "config.json").read_text())
    bad = tmp_path / "deployment-bad.yml"
    doc = yaml.safe_load((out / "deployment-blue.yml").read_text())
    doc["instance_count"] = "two"
    bad.write_text(yaml.safe_dump(doc))
    files = [out / "endpoint.yml", out / "deployment-blue.yml", out / "deployment-green.yml", bad]
    res = run_sdk("azure-ai-ml", "load_azureml.py", [str(f) for f in files])
    endpoint, blue, green, broken = (res[str(f)] for f in files)
    assert endpoint["ok"], endpoint
    assert endpoint["type"] == "ManagedOnlineEndpoint" and endpoint["traffic"] == {"blue": 90, "green": 10}
    for dep, name in ((blue, "blue"), (green, "green")):
        assert dep["ok"], dep
        assert dep["type"] == "ManagedOnlineDeployment" and dep["name"] == name
        assert dep["instance_type"] == "Standard_DS3_v2" and dep["instance_count"] == 2
        assert dep["image"] == "example.azurecr.io/ml/quickstart:1.0.0"
        port = runtime["http_port"]
        assert dep["routes"] == {"livenessRoute": {"port": port, "path": "/v2/health/live"},
                                 "readinessRoute": {"port": port, "path": "/v2/health/ready"},
                                 "scoringRoute": {"port": port, "path": runtime["cloud"]["azure_route"]}}
    assert not broken["ok"] and "instance_count" in broken["error"]


@pytest.mark.tools
def test_vertex_json_parses_into_the_api_request_types(builds, tmp_path):
    out = builds.build(*VERTEX) / "vertex"
    bad = tmp_path / "deploy-bad.json"
    doc = json.loads((out / "deploy-model.json").read_text())
    doc["deployedModel"]["dedicatedResources"]["machineSpec"]["machineTipe"] = "n1-standard-2"
    bad.write_text(json.dumps(doc))
    res = run_sdk("google-cloud-aiplatform", "load_vertex.py", [
        f"UploadModelRequest={out / 'model.json'}", f"Endpoint={out / 'endpoint.json'}",
        f"DeployModelRequest={out / 'deploy-model.json'}", f"DeployModelRequest={bad}"])
    model, endpoint, deploy = (res[str(out / n)] for n in ("model.json", "endpoint.json", "deploy-model.json"))
    assert model["ok"] and endpoint["ok"] and deploy["ok"], res
    spec = model["message"]["model"]["containerSpec"]
    assert {k: spec[k] for k in ("imageUri", "ports", "healthRoute", "predictRoute")} == {"imageUri": "quickstart:1.0.0", "ports": [{"containerPort": 8080}],
                    "healthRoute": "/v2/health/ready", "predictRoute": "/predict"}
    resources = deploy["message"]["deployedModel"]["dedicatedResources"]
    assert resources["machineSpec"]["machineType"] == "n1-standard-2"
    assert (resources["minReplicaCount"], resources["maxReplicaCount"]) == (1, 4)
    assert deploy["message"]["trafficSplit"] == {"0": 20, "4711": 80}
    assert not res[str(bad)]["ok"] and "machineTipe" in res[str(bad)]["error"]


def test_scripts_are_valid_shell_and_take_parameters_not_credentials(builds):
    for out, script, required in ((builds.build(*AZURE), "azureml/deploy.sh", "AZURE_RESOURCE_GROUP"),
                                  (builds.build(*VERTEX), "vertex/deploy.sh", "PROJECT")):
        path = out / script
        assert path.stat().st_mode & 0o111
        check = subprocess.run(["sh", "-n", str(path)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        missing = subprocess.run(["sh", str(path)], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
        assert missing.returncode != 0 and required in missing.stderr  # stops before calling any cloud CLI
    text = (builds.build(*VERTEX) / "vertex" / "deploy.sh").read_text()
    assert "--traffic-split=0=20,4711=80" in text and "--machine-type=n1-standard-2" in text


@pytest.mark.parametrize(("overrides", "key", "text"), [
    (["+target=sagemaker", "target.sagemaker.instance_type=ml.m5.larg"], "target.sagemaker.instance_type",
     "did you mean 'ml.m5.large'"),
    (["+target=sagemaker", "target.sagemaker.instance_count=0"], "target.sagemaker.instance_count", ">= 1"),
    (["+target=sagemaker", "serving.http_port=9000"], "serving.http_port", "port 8080"),
    (["+target=sagemaker", "target.sagemaker.mode=serverless", "target.sagemaker.serverless.memory_mb=1000"],
     "target.sagemaker.serverless.memory_mb", "1024"),
    (["+target=azureml", "target.azureml.traffic={blue:60,green:30}"], "target.azureml.traffic",
     "must sum to 100, got blue=60 + green=30 = 90"),
    (["+target=azureml", "target.azureml.instance_type=Standard_DS3"], "target.azureml.instance_type",
     "Standard_DS3_v2"),
    (["+target=azureml", "target.azureml.instance_count=0"], "target.azureml.instance_count", ">= 1"),
    (["+target=vertex", "target.vertex.machine_type=n1-standard-3"], "target.vertex.machine_type",
     "did you mean"),
    (["+target=vertex", "target.vertex.min_replicas=0"], "target.vertex.min_replicas", ">= 1"),
    (["+target=vertex", "target.vertex.traffic={0:50,12:49}"], "target.vertex.traffic", "= 99"),
    (["+target=vertex", "target.vertex.min_replicas=3", "target.vertex.max_replicas=2"],
     "target.vertex.max_replicas", "below min_replicas 3"),
])
def test_bad_input_is_a_spec_error_naming_the_key(builds, overrides, key, text):
    with pytest.raises(SpecError) as err:
        api.validate(builds.project, ["tracking.enabled=false", *overrides])
    problems = {p.key: p.message for p in err.value.problems}
    assert key in problems, problems
    assert text in problems[key]


def test_unknown_types_say_where_the_list_comes_from(builds):
    with pytest.raises(SpecError) as err:
        api.validate(builds.project, ["+target=vertex", "target.vertex.machine_type=tpu-v9"])
    (problem,) = err.value.problems
    assert "cloud.google.com/vertex-ai/docs/predictions/configure-compute" in problem.message
    assert "known: n1-standard-2" in problem.message
