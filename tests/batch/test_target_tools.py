"""``+target=batch`` checked by the tools its users run: kubernetes-validate --strict (1.29–1.33) and checkov on
the CronJob/Job/NetworkPolicy (as tests/k8s/test_tools.py checks the Deployment), botocore's SageMaker service
model on the transform-job requests, aiplatform's request types on the Vertex job, azure-ai-ml's loaders on
the Azure ML batch YAML. Each checker is also shown a broken copy, which it must refuse."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from mlready.generators._shared.cloud_catalog import SAGEMAKER_TRANSFORM_INSTANCE_TYPES

from tests.batch.target_builds import CLOUDS, K8S_VARIANTS, k8s_files
from tests.cloud.conftest import run_sdk
from tests.support.k8s_checks import checkov, kubernetes_validate_failures

pytestmark = [pytest.mark.tools, pytest.mark.slow]
HERE = Path(__file__).parent  # the SDK loader scripts (run_sdk takes a path)


@pytest.fixture(scope="module")
def variants(qs, qs_digest, tab) -> list:
    return [*(qs.build(*v) for v in K8S_VARIANTS), qs_digest.build("+target=batch"), qs.build(*CLOUDS),
            tab.build("+target=batch", "target.batch.keep=[customer_id]")]


def test_kubernetes_validate_strict_on_every_supported_version(variants, tmp_path):
    files = [p for v in variants for p in k8s_files(v)]
    assert len(files) == 17
    assert kubernetes_validate_failures(files) == {}
    broken = yaml.safe_load(files[0].read_text())  # the CronJob: a typo in the pod is refused
    broken["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["argz"] = ["score"]
    bad = tmp_path / "cronjob.yaml"
    bad.write_text(yaml.safe_dump(broken))
    failures = kubernetes_validate_failures([bad])
    assert set(failures) == {"1.29.0", "1.30.0", "1.31.0", "1.32.0", "1.33.0"} and "argz" in failures["1.33.0"]


def test_checkov_has_no_failed_checks(variants, tmp_path):
    for i, v in enumerate(variants):  # one tree, one checkov run
        shutil.copytree(v / "batch" / "k8s", tmp_path / f"v{i}")
    report = checkov(tmp_path)
    assert report["summary"]["resource_count"] >= 17
    assert report["summary"]["passed"] > 20 * 12  # the CronJobs' and Jobs' pod checks
    # skipped with the reasons in the annotations: the digest (every CronJob/Job but the pinned variant's, 9)
    # and the CPU limit (the cpu_limit=null variant's two, 2)
    assert report["summary"]["skipped"] == 11, report["summary"]


def test_sagemaker_requests_match_botocores_service_model(qs, tmp_path):
    out = qs.build(*CLOUDS) / "batch" / "sagemaker"
    job = json.loads((out / "transform-job.json").read_text())
    job["TransformResources"]["InstanceType"] = "ml.m5.larg"
    del job["ModelName"]
    job["MaxPayloadInMB"] = "6"
    bad = tmp_path / "transform-job.json"
    bad.write_text(json.dumps(job))
    res = run_sdk("botocore", str(HERE / "load_sagemaker.py"), [
        f"CreateModel={out / 'model.json'}", f"CreateTransformJob={out / 'transform-job.json'}",
        f"CreateTransformJob={bad}"])
    results = res["results"]
    assert results[str(out / "model.json")] == {"ok": True, "errors": []}
    assert results[str(out / "transform-job.json")] == {"ok": True, "errors": []}
    errors = "\n".join(results[str(bad)]["errors"])
    assert "ModelName" in errors and "MaxPayloadInMB" in errors and "ml.m5.larg" in errors, errors
    # every instance type the spec accepts is one SageMaker batch transform knows
    assert set(SAGEMAKER_TRANSFORM_INSTANCE_TYPES) <= set(res["transform_instance_types"])


def test_vertex_job_parses_into_the_api_type(qs, tab, tmp_path):
    gcs = qs.build(*CLOUDS) / "batch" / "vertex" / "batch-prediction-job.json"
    doc = json.loads(gcs.read_text())
    doc["dedicatedResources"]["machineSpec"]["machineTipe"] = "n1-standard-2"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    res = run_sdk("google-cloud-aiplatform", "load_vertex.py",
                  [f"BatchPredictionJob={gcs}", f"BatchPredictionJob={bad}"])
    assert res[str(gcs)]["ok"], res
    message = res[str(gcs)]["message"]
    assert message["inputConfig"]["gcsSource"]["uris"] == ["gs://acme-ml/churn/in/rows.jsonl"]
    assert message["dedicatedResources"]["machineSpec"]["machineType"] == "n1-standard-2"
    assert not res[str(bad)]["ok"] and "machineTipe" in res[str(bad)]["error"]


def test_azureml_batch_yaml_loads_with_the_sdk(qs, tmp_path):
    out = qs.build(*CLOUDS) / "batch" / "azureml"
    broken = tmp_path / "azureml"
    shutil.copytree(out, broken)
    pipeline = yaml.safe_load((broken / "pipeline.yml").read_text())
    pipeline["jobs"]["score"]["component"]["environment"]["imagee"] = "x"
    (broken / "pipeline.yml").write_text(yaml.safe_dump(pipeline))
    good = run_sdk("azure-ai-ml", str(HERE / "load_azureml_batch.py"), [str(out / "endpoint.yml"), str(out / "deployment.yml")])
    endpoint, deployment = good[str(out / "endpoint.yml")], good[str(out / "deployment.yml")]
    assert endpoint == {"ok": True, "type": "BatchEndpoint", "name": "quickstart-batch", "auth_mode": "aad_token"}
    assert deployment["ok"], deployment
    assert deployment["type"] == "PipelineComponentBatchDeployment" and deployment["endpoint_name"] == "quickstart-batch"
    assert deployment["settings"] == {"default_compute": "cpu-cluster", "continue_on_step_failure": False}
    assert deployment["image"] == "registry.example.com/ml/quickstart:1.0.0"
    assert deployment["command"].startswith("/opt/venv/bin/python -m mlready.runtime.score --model ")
    assert deployment["inputs"] == {"data": "uri_folder"}
    bad = run_sdk("azure-ai-ml", str(HERE / "load_azureml_batch.py"),
                  [str(broken / "endpoint.yml"), str(broken / "deployment.yml")])
    assert not bad[str(broken / "deployment.yml")]["ok"] and "imagee" in bad[str(broken / "deployment.yml")]["error"]
