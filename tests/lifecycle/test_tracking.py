"""A real ``mlready build`` of the quickstart is recorded as an MLflow run in the project's embedded store."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from mlready.engine import api
from mlready.engine.lifecycle.registry import resolve_model_uri
from mlready.engine.lifecycle.store import open_client, store_for
from mlready.engine.manifest import Manifest

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"


def _git(cwd: Path, *args: str) -> str:
    env_args = ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    return subprocess.run(["git", *env_args, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The quickstart in its own git repository, with a secret-looking key in its spec."""
    root = tmp_path_factory.mktemp("tracked") / "quickstart"
    shutil.copytree(QUICKSTART, root, ignore=shutil.ignore_patterns("build", ".mlready", "mlruns"))
    (root / ".gitignore").write_text("build/\n.mlready/\n")
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "init")
    return root


@pytest.fixture(scope="module")
def built(project: Path):
    result = api.build(project)
    client = open_client(store_for(project))
    exp = client.get_experiment_by_name("quickstart")
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 1
    return result, client, runs[0]


@pytest.mark.slow
def test_build_is_a_run_with_spec_params_git_tags_and_metrics(project, built):
    result, _, run = built
    commit = _git(project, "rev-parse", "HEAD").strip()
    assert run.info.status == "FINISHED"
    assert run.data.tags["mlflow.source.git.commit"] == commit
    assert run.data.tags["mlready.git.dirty"] == "false"
    assert run.data.tags["mlready.spec_digest"] == result.manifest.spec.digest
    assert run.data.params["project.name"] == "quickstart"
    assert run.data.params["model.source"] == "model.joblib"
    assert run.data.params["tracking.enabled"] == "true"
    report = json.loads((result.out_dir / "reports" / "readiness.json").read_text())
    assert run.data.metrics["readiness.eval.metrics.accuracy"] == pytest.approx(
        report["eval"]["metrics"]["accuracy"]
    )


@pytest.mark.slow
def test_run_artifacts_hold_spec_manifest_reports_and_model(built):
    result, client, run = built
    listed = {f.path for f in client.list_artifacts(run.info.run_id)}
    assert {"spec", "manifest.json", "reports", "model"} <= listed
    assert "model/model.onnx" in {f.path for f in client.list_artifacts(run.info.run_id, "model")}
    spec_file = Path(client.download_artifacts(run.info.run_id, "spec/deploy.yaml"))
    assert yaml.safe_load(spec_file.read_text())["project"]["name"] == "quickstart"
    assert Manifest.load(Path(client.download_artifacts(run.info.run_id, "manifest.json"))) == result.manifest


@pytest.mark.slow
def test_served_onnx_is_registered_and_resolvable(project, built):
    result, client, run = built
    (version,) = client.search_model_versions("name='quickstart'")
    assert version.run_id == run.info.run_id
    assert version.tags["mlready.build_key"] == run.data.tags["mlready.build_key"]
    assert float(version.tags["readiness.eval.metrics.accuracy"]) > 0.5
    path = resolve_model_uri("models:/quickstart/1", result.spec)
    assert path.suffix == ".onnx"
    assert path.read_bytes() == (result.out_dir / "model" / "model.onnx").read_bytes()


@pytest.mark.slow
def test_rebuild_of_a_dirty_tree_is_tagged_and_not_registered_twice(project, built):
    _, client, _ = built
    deploy = project / "deploy.yaml"
    deploy.write_text(deploy.read_text() + "\n# a local edit\n")
    api.build(project, ["+target=k8s"])
    exp = client.get_experiment_by_name("quickstart")
    latest, first = client.search_runs([exp.experiment_id], order_by=["attributes.start_time DESC"])
    assert latest.data.tags["mlready.git.dirty"] == "true"
    assert latest.data.tags["mlready.overrides"] == '["+target=k8s"]'
    assert latest.data.tags["mlready.build_key"] != first.data.tags["mlready.build_key"]
    # same served model -> the existing version is reused
    assert [str(v.version) for v in client.search_model_versions("name='quickstart'")] == ["1"]


def test_tracking_switched_off_touches_no_store(tmp_path, monkeypatch):
    project = tmp_path / "qs"
    shutil.copytree(QUICKSTART, project, ignore=shutil.ignore_patterns("build", ".mlready", "mlruns"))
    deploy = project / "deploy.yaml"
    deploy.write_text(deploy.read_text() + "tracking:\n  enabled: false\n")
    api.build(project)
    assert (project / "build" / "manifest.json").is_file()
    assert not (project / ".mlready" / "mlflow.db").exists()

    deploy.write_text(deploy.read_text().replace("enabled: false", "enabled: true"))
    monkeypatch.setenv("MLREADY_TRACKING", "0")
    api.build(project)
    assert not (project / ".mlready" / "mlflow.db").exists()


@pytest.mark.slow
def test_a_build_from_the_registry_follows_the_alias(project, built, tmp_path, capsys, monkeypatch):
    from mlready.engine.cli import main

    monkeypatch.chdir(tmp_path)  # MLflow's default artifact root would be ./mlruns here

    store_uri = store_for(project).tracking_uri
    assert main(["promote", "quickstart", "--version", "1", "--tracking-uri", store_uri]) == 0
    other = tmp_path / "from-registry"
    other.mkdir()
    (other / "deploy.yaml").write_text(yaml.safe_dump({
        "project": {"name": "from-registry"},
        # format: the model generator tells formats from the source's suffix, which a registry URI lacks
        "model": {"source": "models:/quickstart@champion", "format": "onnx"},
        "tracking": {"uri": store_uri, "register_model": False},
    }))
    result = api.build(other)
    (downloaded,) = (other / ".mlready" / "models").rglob("model.onnx")
    assert downloaded.parts[-4:] == ("quickstart", "1", "model", "model.onnx")
    signature = json.loads((result.out_dir / "model" / "signature.json").read_text())
    assert signature["inputs"][0]["shape"] == [-1, 30]
    client = open_client(store_for(project))
    run = client.search_runs([client.get_experiment_by_name("from-registry").experiment_id])[0]
    assert run.data.params["model.source"] == "models:/quickstart@champion"
    assert not (tmp_path / "mlruns").exists()
    assert (project / ".mlready" / "mlartifacts" / "from-registry").is_dir()  # beside the SQLite store


@pytest.mark.slow
def test_an_image_built_later_tags_the_registered_version(project, built):
    from mlready.engine.lifecycle.tracking import record_image

    result, client, _ = built
    digest = "sha256:" + "ab" * 32  # what `mlready image` reads back from the engine after a push
    assert record_image(result.spec, result.manifest, "quickstart:1.0.0", digest) == "1"
    version = client.get_model_version("quickstart", "1")
    assert version.tags["mlready.image"] == "quickstart:1.0.0"
    assert version.tags["mlready.image_digest"] == digest


@pytest.mark.slow
def test_a_dead_tracking_server_fails_the_build_command_clearly(project, built, capsys):
    import socket
    import time

    from mlready.engine.cli import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    code = main(["build", "-q", "-C", str(project), f"tracking.uri=http://127.0.0.1:{port}",
                 "tracking.timeout_seconds=2"])
    assert time.monotonic() - start < 60
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: the MLflow tracking server at http://127.0.0.1:{port} did not answer within 2s")
