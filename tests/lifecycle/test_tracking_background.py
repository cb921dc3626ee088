"""``mlready build`` records its MLflow run off the critical path (issue 17: tracking cost ~2.4 s per changed
build): a background worker logs it after the build dir is written, its failure is reported by the next
build, and the output says which version is MLflow's registry version and which is ``model.version``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from mlready.engine.cli import main
from mlready.engine.lifecycle.background import jobs_dir, wait
from mlready.engine.lifecycle.store import open_client, project_lock, store_for

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
SPEC = """project: {name: bg}
model: {source: model.joblib, version: 3}
data: {eval: data/eval.csv}
"""


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "bg"
    root.mkdir()
    shutil.copyfile(QUICKSTART / "model.joblib", root / "model.joblib")
    (root / "data").mkdir()
    shutil.copyfile(QUICKSTART / "data" / "eval.csv", root / "data" / "eval.csv")
    (root / "deploy.yaml").write_text(SPEC)
    monkeypatch.setenv("MLREADY_CACHE_DIR", str(tmp_path / "cache"))
    return root


@pytest.mark.slow
def test_the_build_command_records_the_run_in_the_background(project, capsys):
    assert main(["build", "-C", str(project)]) == 0
    out = capsys.readouterr().out
    assert "mlflow: recording this build in the background (pid " in out
    assert "registry versions count registrations, the server serves it as model.version 3" in out
    assert wait(project, timeout=120)
    assert not jobs_dir(project).exists() or not any(jobs_dir(project).iterdir())
    client = open_client(store_for(project))
    runs = client.search_runs([client.get_experiment_by_name("bg").experiment_id])
    assert [r.info.status for r in runs] == ["FINISHED"]
    assert runs[0].data.params["model.version"] == "3"
    (version,) = client.search_model_versions("name='bg'")
    assert str(version.version) == "1" and version.tags["mlready.model_version"] == "3"
    artifacts = {f.path for f in client.list_artifacts(runs[0].info.run_id)}
    assert {"spec", "manifest.json", "reports", "model"} <= artifacts


@pytest.mark.slow
def test_a_failed_background_recording_is_reported_by_the_next_build(project, tmp_path, capsys):
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the store's directory should be")
    uri = f"tracking.uri=sqlite:///{blocked}/mlflow.db"
    assert main(["build", "-q", "-C", str(project), uri]) == 0
    assert capsys.readouterr().out == ""  # --quiet: not even the mlflow line
    assert wait(project, timeout=120)
    assert main(["build", "-q", "-C", str(project), "tracking.enabled=false"]) == 0
    err = capsys.readouterr().err
    assert "warning: recording an earlier build in MLflow failed in the background:" in err
    assert str(jobs_dir(project)) in err
    assert main(["build", "-q", "-C", str(project), "tracking.enabled=false"]) == 0
    assert "failed in the background" not in capsys.readouterr().err  # said once


@pytest.mark.slow
def test_wait_tracking_says_which_version_is_which(project, capsys):
    assert main(["build", "-C", str(project), "--wait-tracking"]) == 0
    out = capsys.readouterr().out
    assert ("registered as registry version 1 of bg (MLflow numbers each registration; the server serves it as "
            "model.version 3)") in out


@pytest.mark.slow
def test_a_killed_worker_is_reported_not_waited_for(project, capsys):
    import os
    import signal

    assert main(["build", "-q", "-C", str(project)]) == 0
    (job,) = jobs_dir(project).iterdir()
    os.kill(int((job / "pid").read_text()), signal.SIGKILL)  # long before MLflow is even imported
    assert wait(project, timeout=30)
    assert main(["build", "-q", "-C", str(project), "tracking.enabled=false"]) == 0
    assert "the worker stopped before recording the run (killed?)" in capsys.readouterr().err


@pytest.mark.slow
def test_a_noop_rebuild_while_the_run_is_recorded_is_not_recorded_twice(project, capsys):
    import subprocess

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false",
                        *args], cwd=project, check=True, capture_output=True)

    (project / ".gitignore").write_text("build/\n.mlready/\n")
    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "init")  # a clean tree: an unchanged rebuild is the same run
    with project_lock(project / ".mlready"):  # the worker waits for it: still recording at the rebuild
        assert main(["build", "-C", str(project)]) == 0
        assert main(["build", "-C", str(project)]) == 0
        assert "mlflow: unchanged build, being recorded in the background" in capsys.readouterr().out
    assert wait(project, timeout=120)
    assert main(["build", "-C", str(project)]) == 0
    assert "mlflow: unchanged build, already recorded as run " in capsys.readouterr().out
    client = open_client(store_for(project))
    assert len(client.search_runs([client.get_experiment_by_name("bg").experiment_id])) == 1
