"""The generated scoring Job, run: its pod template (``batch/k8s/job.yaml``) played by ``podman kube play`` as a
Pod on the quickstart's real image (built by ``mlready image``'s workflow, pinned by its digest), with the
claim it names as a podman volume holding a Parquet file. The pod runs as the image's non-root user on a
read-only root filesystem with the Job's args and mounts, exits 0, and its predictions equal ``mlready score``'s
on the same file, row for row. (podman 4 plays Pods, not Jobs: the Job's own fields are checked by
kubernetes-validate in test_target_tools.py.)"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
import yaml
from mlready.engine import api
from mlready.engine.actions.image import build_and_check
from mlready.engine.cli import main

from tests.k8s.helpers import copy_quickstart
from tests.support.containers import DEFAULT_BASE_IMAGE, base_image, docker_client, podman  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.container, pytest.mark.slow]
NAME = "batch-smoke"
CLAIM = f"{NAME}-data"
UID = 10001  # target.docker.uid's default


@pytest.fixture(scope="module")
def played(tmp_path_factory, docker_client, base_image):  # noqa: F811 (fixtures)
    project = copy_quickstart(tmp_path_factory.mktemp("batch-podman") / NAME)
    common = ["tracking.enabled=false", f"project.name={NAME}", f"target.docker.base_image={base_image or DEFAULT_BASE_IMAGE}",
              "target.docker.scoring=true"]
    report = build_and_check(project, [*common, "+target=docker"])
    assert report.digest
    result = api.build(project, [*common, "+target=[docker,batch]", "target.k8s.image_pull_policy=IfNotPresent",
                                 f"target.batch.input=pvc://{CLAIM}/in/rows.parquet",
                                 f"target.batch.output=pvc://{CLAIM}/out/preds.parquet", "target.batch.keep=[row_id]",
                                 "target.batch.platforms=[k8s,azureml]",
                                 "target.batch.azureml.input=azureml://datastores/d/paths/in/",
                                 "target.batch.azureml.output=azureml://datastores/d/paths/out/"],
                       run_hooks=False)
    job = yaml.safe_load((result.out_dir / "batch/k8s/job.yaml").read_text())
    template = job["spec"]["template"]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": NAME, "labels": template["metadata"]["labels"]},
           "spec": template["spec"]}

    frame = pd.read_csv(project / "data" / "eval.csv")
    frame.insert(0, "row_id", [f"r{i:04d}" for i in range(len(frame))])
    podman("volume", "rm", "-f", CLAIM, check=False)
    podman("volume", "create", CLAIM)
    data = Path(json.loads(podman("volume", "inspect", CLAIM).stdout)[0]["Mountpoint"])
    (data / "in").mkdir()
    frame.to_parquet(data / "in" / "rows.parquet", index=False)
    (data / "out").mkdir()
    if os.geteuid() == 0:  # podman does not apply fsGroup: the folder is the image user's, as documented
        os.chown(data / "out", UID, UID)
    else:
        (data / "out").chmod(0o777)
    path = tmp_path_factory.mktemp("play") / "pod.yaml"
    path.write_text(yaml.safe_dump(pod))
    podman("kube", "down", str(path), check=False)
    podman("kube", "play", str(path), timeout=300)
    try:
        ids = podman("ps", "-a", "-q", "--filter", f"label=app.kubernetes.io/instance={NAME}-batch").stdout.split()
        assert len(ids) == 1, ids
        code = int(podman("wait", ids[0], timeout=300).stdout.strip())
        inspected = json.loads(podman("inspect", ids[0]).stdout)[0]
        logs = podman("logs", ids[0], check=False)
        yield {"project": project, "frame": frame, "data": data, "code": code, "logs": logs.stdout + logs.stderr,
               "container": inspected, "digest": report.digest, "pod": pod, "out": result.out_dir}
    finally:
        podman("kube", "down", str(path), check=False)
        podman("volume", "rm", "-f", CLAIM, check=False)


def test_the_jobs_pod_scores_like_mlready_score(played, tmp_path):
    assert played["code"] == 0, played["logs"][-3000:]
    assert f"scored {len(played['frame'])} of {len(played['frame'])} rows" in played["logs"]
    got = pd.read_parquet(played["data"] / "out" / "preds.parquet")
    src = tmp_path / "rows.parquet"
    played["frame"].to_parquet(src, index=False)
    want_path = tmp_path / "want.parquet"
    assert main(["score", "-C", str(played["project"]), "--no-progress", "-i", str(src), "-o", str(want_path),
                 "--keep", "row_id"]) == 0
    want = pd.read_parquet(want_path)
    assert list(got.columns) == list(want.columns) and got.columns[0] == "row_id"
    pd.testing.assert_frame_equal(got, want)


def test_the_azureml_command_runs_in_the_image(played, tmp_path):
    """The Azure ML pipeline step's command, with the folders Azure mounts substituted for its ``${{...}}``
    placeholders, run by the image's shell as Azure's command jobs run it: the same predictions."""
    step = yaml.safe_load((played["out"] / "batch/azureml/pipeline.yml").read_text())["jobs"]["score"]["component"]
    command = step["command"].replace("${{inputs.data}}", "/mnt/azureml/in").replace(
        "${{outputs.predictions}}", "/mnt/azureml/out")
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o777)
    image = played["container"]["Image"]
    proc = podman("run", "--rm", "--read-only", "--tmpfs", "/tmp", "--user", f"{UID}:{UID}", "--network", "none",
                  "-e", f"HOME={step['environment_variables']['HOME']}", "--entrypoint", "/bin/sh",
                  "-v", f"{played['data'] / 'in'}:/mnt/azureml/in:ro", "-v", f"{out}:/mnt/azureml/out",
                  image, "-c", command, check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = pd.read_parquet(out / "predictions.parquet")
    want = pd.read_parquet(played["data"] / "out" / "preds.parquet")
    pd.testing.assert_frame_equal(got, want)


def test_the_pod_ran_hardened_from_the_pinned_image(played):
    c = played["container"]
    assert played["digest"] in c["ImageName"]
    assert c["Config"]["User"] == f"{UID}:{UID}"
    assert c["HostConfig"]["ReadonlyRootfs"] is True
    assert {m["Destination"] for m in c["Mounts"]} >= {"/tmp", f"/mnt/{CLAIM}"}
