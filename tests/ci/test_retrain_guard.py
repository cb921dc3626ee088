"""The retrain job's guard: a trainer that replaces the gathered training set fails the job (the production rows
would silently be lost), and the trainers mlready ships train on MLREADY_RETRAIN_DATA as it is."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
from mlready.generators.ci import retrain_guard

ROOT = Path(__file__).resolve().parents[2]


def test_verify_passes_when_the_trainer_left_the_set_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("train.csv").write_text("a,target\n1,0\n")
    assert retrain_guard.main(["record", "train.csv"]) == 0
    assert retrain_guard.main(["verify", "train.csv"]) == 0


def test_verify_fails_naming_the_file_when_the_trainer_rewrote_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("train.csv").write_text("a,target\n1,0\n")
    assert retrain_guard.main(["record", "train.csv"]) == 0
    Path("train.csv").write_text("a,target\n1,0\n2,1\n")  # the trainer made its own data
    assert retrain_guard.main(["verify", "train.csv"]) == 1
    err = capsys.readouterr().err
    assert "train.csv changed while the trainer ran" in err and "MLREADY_RETRAIN_DATA" in err


def test_verify_without_a_record_or_a_file_is_a_usage_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert retrain_guard.main(["verify", "train.csv"]) == 2
    assert "not found" in capsys.readouterr().err
    Path("train.csv").write_text("a\n")
    assert retrain_guard.main(["verify", "train.csv"]) == 2  # no record made before the trainer
    assert "record" in capsys.readouterr().err


def test_the_quickstart_trainer_trains_on_the_gathered_set_as_it_is(tmp_path):
    project = tmp_path / "quickstart"
    shutil.copytree(ROOT / "examples" / "quickstart", project, ignore=shutil.ignore_patterns("build", ".mlready"))
    gathered = pd.read_csv(project / "data" / "train.csv").head(60)
    gathered.to_csv(project / "data" / "train.csv", index=False)
    before = {p.name: p.read_bytes() for p in (project / "data").iterdir()}
    env = {**os.environ, "MLREADY_RETRAIN_DATA": "data/train.csv"}
    run = [sys.executable, "-m", "mlready.generators.ci.retrain_guard"]
    subprocess.run([*run, "record", "data/train.csv"], cwd=project, check=True, env=env)
    subprocess.run([sys.executable, "train.py"], cwd=project, check=True, env=env, capture_output=True)
    verify = subprocess.run([*run, "verify", "data/train.csv"], cwd=project, env=env, capture_output=True, text=True)
    assert verify.returncode == 0, verify.stderr
    assert {p.name: p.read_bytes() for p in (project / "data").iterdir()} == before
    # without the variable it makes its own split (the first run of a project): the guard catches that
    del env["MLREADY_RETRAIN_DATA"]
    subprocess.run([sys.executable, "train.py"], cwd=project, check=True, env=env, capture_output=True)
    verify = subprocess.run([*run, "verify", "data/train.csv"], cwd=project, env=env, capture_output=True, text=True)
    assert verify.returncode == 1 and "changed while the trainer ran" in verify.stderr
