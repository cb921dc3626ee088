"""The generated dvc.yaml driven by the real ``dvc`` (tools/install-python-tools.sh) in a temp git repo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mlready.engine import api
from mlready.engine.manifest import Manifest

ROOT = Path(__file__).resolve().parents[2]
DVC = ROOT / ".tools" / "dvc" / "bin" / "dvc"

TRAIN = """\
from pathlib import Path

import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

frame = load_iris(as_frame=True).frame
frame.columns = [c.replace(" (cm)", "").replace(" ", "_") for c in frame.columns]
Path("data").mkdir(exist_ok=True)
frame.iloc[::3].to_csv("data/eval.csv", index=False)
train = frame.drop(frame.index[::3])
joblib.dump(LogisticRegression(max_iter=500).fit(train.drop(columns="target"), train["target"]), "model.joblib")
"""

DEPLOY = """\
project:
  name: iris-dvc
  version: 1.0.0
model:
  source: model.joblib
data:
  eval: data/eval.csv
pipeline:
  dvc:
    train:
      cmd: python train.py
      deps: [train.py]
      outs: [model.joblib, data/eval.csv]
"""


def _env() -> dict[str, str]:
    # what a user with an activated venv has: `python` and `mlready` on PATH
    env = dict(os.environ, DVC_NO_ANALYTICS="1", MLREADY_TRACKING="0")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return env


def _run(cwd: Path, *cmd: str) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def _digest(project: Path) -> str:
    return Manifest.load(project / "build").spec.digest


@pytest.mark.slow
@pytest.mark.tools
def test_dvc_repro_reruns_exactly_what_changed(tmp_path, monkeypatch):
    assert DVC.is_file(), f"{DVC} is missing: run tools/install-python-tools.sh"
    monkeypatch.setenv("MLREADY_TRACKING", "0")
    project = tmp_path / "qs"
    project.mkdir()
    (project / "train.py").write_text(TRAIN)
    (project / "deploy.yaml").write_text(DEPLOY)
    (project / ".gitignore").write_text("build/\n.mlready/\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    _run(project, "git", "init", "-q")
    _run(project, *git, "add", ".")
    _run(project, *git, "commit", "-q", "-m", "sources only")
    _run(project, str(DVC), "init", "-q")

    # bootstrap: train once, generate the pipeline, put it at the root
    _run(project, "python", "train.py")
    api.build(project, ["+pipeline=dvc"])  # in-process: the stages below run mlready as a user would
    shutil.copy(project / "build" / "pipeline" / "dvc.yaml", project / "dvc.yaml")

    out = _run(project, str(DVC), "repro")
    assert "Running stage 'train'" in out and "Running stage 'build'" in out
    assert (project / "dvc.lock").is_file()
    assert not (project / "build" / "pipeline").exists()  # the stage's build leaves +pipeline=dvc out
    first = _digest(project)

    out = _run(project, str(DVC), "repro")
    assert "Stage 'train' didn't change, skipping" in out
    assert "Stage 'build' didn't change, skipping" in out

    # a spec value changes: only the build reruns
    deploy = project / "deploy.yaml"
    deploy.write_text(deploy.read_text().replace("version: 1.0.0", "version: 1.0.1"))
    out = _run(project, str(DVC), "repro")
    assert "Stage 'train' didn't change, skipping" in out
    assert "Running stage 'build'" in out
    assert _digest(project) != first

    # a comment is not a value: nothing reruns
    deploy.write_text(deploy.read_text() + "# a note\n")
    out = _run(project, str(DVC), "repro")
    assert "Running stage" not in out

    # training code changes: training reruns
    train = project / "train.py"
    train.write_text(train.read_text() + "\n# retrain\n")
    out = _run(project, str(DVC), "repro")
    assert "Running stage 'train'" in out
