"""``+target=batch``: what the quickstart and examples/tabular build into (the k8s pod is the Deployment's pod
running the image's ``score`` contract; the cloud requests carry the spec's locations and sizes), byte-identical
rebuilds, and bad spec values refused with the key named and nothing written. The tools' checks are in
test_target_tools.py."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from mlready.engine.cli import main

from tests.batch.target_builds import CLOUDS, K8S_VARIANTS, k8s_files
from tests.cloud.conftest import Builds

pytestmark = pytest.mark.slow  # real builds of the examples (a few seconds each)

MODEL_DIR = "/opt/mlready/models/quickstart/1"


def _docs(out, name):
    return yaml.safe_load((out / "batch" / "k8s" / name).read_text())


def _pod(doc):
    return (doc["spec"]["jobTemplate"]["spec"] if doc["kind"] == "CronJob" else doc["spec"])["template"]["spec"]


def test_batch_alone_builds_a_nightly_cronjob_and_a_job_running_the_image_contract(qs):
    out = qs.build("+target=batch")
    assert [p.name for p in k8s_files(out)] == ["cronjob.yaml", "job.yaml", "networkpolicy.yaml"]
    cron, job = _docs(out, "cronjob.yaml"), _docs(out, "job.yaml")
    assert cron["spec"]["schedule"] == "0 2 * * *" and cron["spec"]["timeZone"] == "Etc/UTC"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    for spec in (cron["spec"]["jobTemplate"]["spec"], job["spec"]):
        assert (spec["backoffLimit"], spec["activeDeadlineSeconds"], spec["ttlSecondsAfterFinished"]) == (2, 21600, 604800)
    (c,) = _pod(cron)["containers"]
    assert c["args"] == ["score", "--model", MODEL_DIR, "--input", "/mnt/quickstart-batch/input/",
                         "--output", "/mnt/quickstart-batch/output/predictions.parquet"]
    assert c["image"] == "quickstart:1.0.0" and "command" not in c  # the image's ENTRYPOINT stays (contract)
    assert _pod(cron) == _pod(job)
    # the model folder is where the image has it: the runtime config's repository, model name, version
    runtime = json.loads((out / "runtime" / "config.json").read_text())
    assert MODEL_DIR == f"{runtime['model_repository']}/quickstart/1"


def test_the_pod_is_the_deployments_pod_without_serving_parts(qs):
    batch = _pod(_docs(qs.build("+target=batch"), "cronjob.yaml"))
    k8s_out = qs.build("+target=k8s")
    deployment = yaml.safe_load((k8s_out / "k8s" / "base" / "deployment.yaml").read_text())
    served = deployment["spec"]["template"]["spec"]
    assert batch["securityContext"] == served["securityContext"]
    (c,), (s,) = batch["containers"], served["containers"]
    for key in ("securityContext", "resources", "imagePullPolicy"):
        assert c[key] == s[key], key
    assert batch["automountServiceAccountToken"] is False and batch["restartPolicy"] == "Never"
    assert not {"ports", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle"} & set(c)
    # the scoring pods never match the Service (or PDB, NetworkPolicy) of the server
    service = yaml.safe_load((k8s_out / "k8s" / "base" / "service.yaml").read_text())
    labels = _docs(qs.build("+target=batch"), "cronjob.yaml")["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert not set(service["spec"]["selector"].items()) <= set(labels.items())
    policy = _docs(qs.build("+target=batch"), "networkpolicy.yaml")
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in policy["spec"] \
        and "egress" not in policy["spec"]
    assert set(policy["spec"]["podSelector"]["matchLabels"].items()) <= set(labels.items())


def test_spec_values_reach_the_objects(qs):
    _, split, prod = (qs.build(*v) for v in K8S_VARIANTS)
    job = _docs(split, "job.yaml")
    pod = _pod(job)
    (c,) = pod["containers"]
    assert c["args"] == ["score", "--model", MODEL_DIR, "--input", "/mnt/scoring-in/daily/rows.csv",
                         "--output", "/mnt/scoring-out/scored/preds.csv", "--keep", "id", "--bad-rows", "skip"]
    claims = {v["persistentVolumeClaim"]["claimName"]: v["persistentVolumeClaim"]["readOnly"]
              for v in pod["volumes"] if "persistentVolumeClaim" in v}
    assert claims == {"scoring-in": True, "scoring-out": False}  # the input is mounted read-only
    assert {m["mountPath"]: m["readOnly"] for m in c["volumeMounts"] if m["name"] != "tmp"} == \
        {"/mnt/scoring-in": True, "/mnt/scoring-out": False}
    assert "ttlSecondsAfterFinished" not in job["spec"]
    assert "cpu" not in c["resources"]["limits"] and job["metadata"]["annotations"]["checkov.io/skip2"].startswith("CKV_K8S_11=")
    # env=prod: the prod namespace and resources; schedule null: the Job only
    assert [p.name for p in k8s_files(prod)] == ["job.yaml", "networkpolicy.yaml"]
    job = _docs(prod, "job.yaml")
    assert job["metadata"]["namespace"] == "quickstart-prod"
    assert _pod(job)["containers"][0]["resources"]["limits"] == {"cpu": "2", "memory": "2Gi", "ephemeral-storage": "1Gi"}


def test_a_recorded_digest_pins_the_image_and_drops_the_digest_skip(qs_digest):
    job = _docs(qs_digest.build("+target=batch"), "job.yaml")
    assert _pod(job)["containers"][0]["image"] == "quickstart@sha256:" + "ab" * 32
    assert "annotations" not in job["metadata"]


def test_an_image_named_by_digest_is_run_as_named(qs):
    image = "registry.example.com/ml/scorer@sha256:" + "cd" * 32
    job = _docs(qs.build("+target=batch", f"target.batch.image={image}"), "job.yaml")
    assert _pod(job)["containers"][0]["image"] == image and "annotations" not in job["metadata"]
    tagged = _docs(qs.build("+target=batch", "target.batch.image=registry.example.com/ml/scorer:2"), "job.yaml")
    assert tagged["metadata"]["annotations"] == {"checkov.io/skip1": "CKV_K8S_43=digest unknown: run mlready image"}


def test_cloud_requests_carry_the_spec(qs):
    out = qs.build(*CLOUDS)
    job = json.loads((out / "batch/sagemaker/transform-job.json").read_text())
    model = json.loads((out / "batch/sagemaker/model.json").read_text())
    assert model["PrimaryContainer"]["Image"] == "registry.example.com/ml/quickstart:1.0.0"
    assert job["ModelName"] == model["ModelName"]
    assert job["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] == "s3://acme-ml/churn/in/"
    assert job["TransformOutput"]["S3OutputPath"] == "s3://acme-ml/churn/out/"
    assert job["TransformResources"] == {"InstanceType": "ml.c5.xlarge", "InstanceCount": 2}
    vertex = json.loads((out / "batch/vertex/batch-prediction-job.json").read_text())
    assert vertex["inputConfig"] == {"instancesFormat": "jsonl", "gcsSource": {"uris": ["gs://acme-ml/churn/in/rows.jsonl"]}}
    assert vertex["outputConfig"]["gcsDestination"] == {"outputUriPrefix": "gs://acme-ml/churn/out/"}
    pipeline = yaml.safe_load((out / "batch/azureml/pipeline.yml").read_text())
    step = pipeline["jobs"]["score"]["component"]
    assert step["environment"]["image"] == "registry.example.com/ml/quickstart:1.0.0"
    assert step["command"] == (f"/opt/venv/bin/python -m mlready.runtime.score --model {MODEL_DIR} "
                               "--input '${{inputs.data}}' --output '${{outputs.predictions}}/predictions.parquet'")
    inputs = yaml.safe_load((out / "batch/azureml/inputs.yml").read_text())
    assert inputs["inputs"]["data"] == {"type": "uri_folder",
                                        "path": "azureml://datastores/workspaceblobstore/paths/churn/in/"}
    # the k8s job of the same build keeps its default claim
    assert "/mnt/quickstart-batch/input/" in _pod(_docs(out, "job.yaml"))["containers"][0]["args"]


def test_tabular_builds_with_its_key_column_kept(tab):
    out = tab.build("+target=batch", "target.batch.keep=[customer_id]", "target.batch.platforms=[k8s,vertex]",
                    "target.batch.vertex.input=bq://acme.churn.customers", "target.batch.vertex.output=bq://acme.churn")
    (c,) = _pod(_docs(out, "cronjob.yaml"))["containers"]
    assert c["args"][:3] == ["score", "--model", "/opt/mlready/models/churn-tabular/1"] and c["args"][-2:] == ["--keep", "customer_id"]
    vertex = json.loads((out / "batch/vertex/batch-prediction-job.json").read_text())
    assert vertex["inputConfig"] == {"instancesFormat": "bigquery", "bigquerySource": {"inputUri": "bq://acme.churn.customers"}}
    assert vertex["instanceConfig"] == {"instanceType": "object", "keyField": "customer_id"}
    assert vertex["outputConfig"] == {"predictionsFormat": "bigquery", "bigqueryDestination": {"outputUri": "bq://acme.churn"}}


def test_two_builds_are_byte_identical(qs, tmp_path_factory):
    other = Builds(tmp_path_factory.mktemp("batch-again"))  # its own copy and cache: every step runs again
    a, b = qs.build(*CLOUDS), other.build(*CLOUDS)
    files = sorted(p.relative_to(a) for p in (a / "batch").rglob("*") if p.is_file())
    assert len(files) == 10  # 3 k8s, 2 SageMaker, 1 Vertex, 4 Azure ML
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


@pytest.mark.parametrize(("overrides", "key", "text"), [
    (["target.batch.schedule='61 2 * * *'"], "target.batch.schedule", "does not parse as a cron expression"),
    (["target.batch.schedule='0 2 * *'"], "target.batch.schedule", "5 fields"),
    (["target.batch.k8s.time_zone=Mars/Olympus"], "target.batch.k8s.time_zone", "IANA"),
    (["target.batch.k8s.backoff_limit=-1"], "target.batch.k8s.backoff_limit", ">= 0"),
    (["target.batch.k8s.active_deadline_seconds=5"], "target.batch.k8s.active_deadline_seconds", ">= 60"),
    (["target.batch.input=s3://bucket/in/"], "target.batch.input", "reads pvc:// locations"),
    (["target.batch.output=pvc://data/out/"], "target.batch.output", "ending in .parquet or .csv"),
    (["target.batch.input='pvc://data/in dir/'"], "target.batch.input", "is not a location"),
    (["target.batch.input=pvc://data/../etc/"], "target.batch.input", "is not a location"),
    (["target.batch.input=pvc://Data_Claim/in/"], "target.batch.input", "DNS-1123"),
    (["target.batch.platforms=[k8s,k8s]"], "target.batch.platforms", "listed twice"),
    (["target.batch.platforms=[lambda]"], "target.batch.platforms.0", "k8s"),
    (["target.batch.platforms=[sagemaker]"], "target.batch.input", "set target.batch.sagemaker.input"),
    (["target.batch.platforms=[k8s,sagemaker]", "target.batch.sagemaker.input=s3://b/in/",
      "target.batch.sagemaker.output=s3://b/out/", "target.batch.keep=[id]"], "target.batch.keep", "no column"),
    (["target.batch.platforms=[sagemaker]", "target.batch.input=s3://b/in/", "target.batch.output=s3://b/out/",
      "target.batch.sagemaker.instance_type=ml.m5.larg"], "target.batch.sagemaker.instance_type", "did you mean"),
    (["target.batch.platforms=[vertex]", "target.batch.input=gs://b/in.jsonl", "target.batch.output=gs://b/out/",
      "target.batch.keep=[a,b]"], "target.batch.keep", "one key column"),
    (["target.batch.platforms=[vertex]", "target.batch.input=gs://b/in.jsonl", "target.batch.output=gs://b/out/",
      "target.batch.vertex.starting_replica_count=3"], "target.batch.vertex.max_replica_count", "below"),
    (["target.batch.platforms=[azureml]", "target.batch.input=s3://b/in/", "target.batch.output=s3://b/out/"],
     "target.batch.input", "reads azureml:// or https://"),
    (["target.batch.image=https://evil/x"], "target.batch.image", "not an image reference"),
    (["target.batch.input=https://user:pw@host/in/"], "target.batch.input", "is not a location"),
    (["target.batch.platforms=[azureml]", "target.batch.input='https://acct.blob.core.windows.net/c/in/?sig=secret'",
      "target.batch.output=azureml://datastores/d/paths/out/"], "target.batch.input", "is not a location"),
    (["target.docker.scoring=false"], "target.docker.scoring", "needs pyarrow"),
    (["target.batch.keep=[--model]"], "target.batch.keep", "not starting with '-'"),
    (["target.batch.input=pvc://data/in/", "target.batch.output=pvc://data/in/preds.parquet"], "target.batch.output",
     "inside the k8s input"),
    (["target.batch.input='pvc://data/in/*.csv'"], "target.batch.input", "only a Vertex AI gs:// input takes wildcards"),
])
def test_bad_values_exit_2_naming_the_key_and_write_nothing(qs, capsys, overrides, key, text):
    code = main(["build", "-C", str(qs.project), *qs.base, "+target=batch", *overrides])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.splitlines() if f" {key}:" in line]
    assert lines and text in lines[0], err
    assert "nothing was written" in err
    assert not (qs.project / "build").exists()


def test_a_bad_value_in_deploy_yaml_is_located_by_line(qs, tmp_path, capsys):
    project = tmp_path / "qs"
    shutil.copytree(qs.project, project, ignore=shutil.ignore_patterns("build", ".mlready"))
    text = (project / "deploy.yaml").read_text()
    (project / "deploy.yaml").write_text(text + "target:\n  batch:\n    schedule: '0 25 * * *'\n")
    line = len(text.splitlines()) + 3
    assert main(["build", "-C", str(project), *qs.base, "+target=batch"]) == 2
    err = capsys.readouterr().err
    assert f"deploy.yaml:{line} target.batch.schedule: '0 25 * * *' does not parse" in err, err
    assert not (project / "build").exists()
