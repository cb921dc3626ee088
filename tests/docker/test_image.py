"""A real image of the quickstart, built through the Docker SDK on the podman harness, run and queried."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from mlready.engine.actions import docker_engine as img
from mlready.engine.actions.image import build_and_check
from mlready.engine.actions.smoke import smoke_test
from mlready.engine.cli import main
from mlready.engine.manifest import Manifest

from tests.docker.conftest import DOCKER
from tests.support.containers import host_port, run_container, wait_http

pytestmark = [pytest.mark.container, pytest.mark.slow]
FORBIDDEN = ("mlflow", "hydra", "omegaconf", "sklearn", "torch", "pandas", "jinja2", "pip")


@pytest.fixture(scope="module")
def report(quickstart, docker_client, base_image):
    return build_and_check(quickstart, DOCKER)


def test_image_runs_read_only_non_root_and_predicts_like_onnxruntime(report, quickstart):
    assert report.smoke is not None
    assert report.smoke.rows == 8
    assert set(report.smoke.outputs) == {"label", "probabilities"}
    assert report.smoke.max_abs_diff < 1e-4
    assert report.size.added is not None and 0 < report.size.added < report.size.total
    manifest = Manifest.load(quickstart / "build")
    record = json.loads((quickstart / ".mlready" / "image.json").read_text())
    assert record == {"name": "quickstart", "tag": "1.0.0", "id": report.id, "digest": report.digest}
    assert manifest.image is not None and manifest.image.id == report.id and manifest.image.pushed is False
    assert manifest.artifacts  # the build's own record is kept


def test_image_config_user_labels_and_healthcheck(report, docker_client, cpu_context):
    config = docker_client.images.get(report.id).attrs["Config"]
    uid, gid = config["User"].split(":")
    assert int(uid) >= 10000 and int(gid) >= 10000
    assert config["Labels"]["io.mlready.model.name"] == "quickstart"
    assert config["Labels"]["io.mlready.model.version"] == "1"
    assert config["Labels"]["org.opencontainers.image.version"] == "1.0.0"
    assert config["Entrypoint"][:3] == ["/opt/venv/bin/python", "-m", "mlready.runtime"]
    health = next(line for line in (cpu_context / "Dockerfile").read_text().splitlines()
                  if line.lstrip().startswith("CMD ["))
    command = json.loads(health.split("CMD", 1)[1])
    with run_container(docker_client, report.id, read_only=True, tmpfs={"/tmp": ""},
                       ports={"8080/tcp": ("127.0.0.1", None)}) as c:
        wait_http(f"http://127.0.0.1:{host_port(c, '8080/tcp')}/v2/health/ready", timeout=60, container=c)
        code, out = c.exec_run(command)
        assert code == 0, out
        code, out = c.exec_run(["/opt/venv/bin/python", "-c", "import os; print(os.getuid(), os.getgid())"])
        assert out.decode().split() == [uid, gid]


def test_image_contains_only_the_runtime(report, docker_client):
    probe = ("import importlib.util as u, json; print(json.dumps({m: u.find_spec(m) is not None for m in "
             f"{list(FORBIDDEN) + ['onnxruntime', 'numpy', 'granian', 'mlready.runtime']}}}))")
    out = docker_client.containers.run(report.id, ["-c", probe], entrypoint="/opt/venv/bin/python",
                                       read_only=True, remove=True)
    found = json.loads(out)
    assert {m for m in FORBIDDEN if found[m]} == set()
    assert found["onnxruntime"] and found["numpy"] and found["granian"] and found["mlready.runtime"]


def test_unchanged_rebuild_reuses_every_layer(report, quickstart, capsys):
    assert main(["image", "-C", str(quickstart), "--no-smoke", "--json", *DOCKER]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["steps"] > 10 and again["cached_steps"] == again["steps"]
    assert again["id"] == report.id


def test_failed_build_names_the_step_and_shows_the_log(report, docker_client, cpu_context, tmp_path):
    broken = tmp_path / "ctx"
    shutil.copytree(cpu_context, broken, copy_function=os.link)  # hard links: only the lock is rewritten
    (broken / "requirements.lock").unlink()
    shutil.copy(cpu_context / "requirements.lock", broken / "requirements.lock")
    lock = broken / "requirements.lock"
    text = lock.read_text()
    first = text.index("--hash=sha256:") + len("--hash=sha256:")
    lock.write_text(text[:first] + "0" * 64 + text[first + 64:])
    with pytest.raises(img.ImageError) as info:
        img.build(docker_client, broken, "mlready-test-broken:1")
    assert "RUN python3 -m venv /opt/venv" in str(info.value)
    assert "HASHES" in info.value.details


def test_smoke_failure_carries_the_container_logs(report, docker_client, cpu_context, cpu_build, tmp_path):
    ctx = tmp_path / "ctx"
    shutil.copytree(cpu_context, ctx)
    runtime = json.loads((ctx / "runtime.json").read_text())
    runtime["http_port"] = 18099  # the image serves on 8080: the published port never answers
    (ctx / "runtime.json").write_text(json.dumps(runtime))
    with pytest.raises(img.ImageError) as info:
        smoke_test(docker_client, report.id, spec=cpu_build.spec, context_dir=ctx, user="10001:10001", timeout=8)
    assert "not ready" in str(info.value)
    assert "container logs" in info.value.details and "8080" in info.value.details
