"""What ``mlready build`` says and keeps (issue 17): the user's changes to the build dir are kept and listed,
a successful build prints its verdicts, a failed gate points at the failed build's report, ``--quiet`` is
quiet and library warnings are summarized once."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from mlready.engine.cli import main

from tests.engine.conftest import QUICKSTART

GATED = ("project: {{name: demo}}\nmodel: {{source: model.joblib}}\n"
         "data: {{train: data/train.csv, eval: data/eval.csv}}\nreadiness: {{gates: [{gates}]}}\n")


@pytest.fixture
def gated(project, quickstart_files):
    def make(gates: str = '"f1 >= 0.5"', **files):
        return project({**quickstart_files, "data/train.csv": QUICKSTART / "data" / "train.csv",
                        "deploy.yaml": GATED.format(gates=gates), **files})
    return make


def test_hand_edits_and_extra_files_are_kept_and_listed(demo, capsys):
    assert main(["build", "-q", "-C", str(demo)]) == 0
    config = demo / "build" / "runtime" / "config.json"
    generated = config.read_text()
    config.write_text(generated.replace("{", '{"edited": true, ', 1))
    (demo / "build" / "notes").mkdir()
    (demo / "build" / "notes" / "todo.txt").write_text("mine")
    capsys.readouterr()
    assert main(["build", "-q", "-C", str(demo)]) == 0
    err = capsys.readouterr().err.splitlines()
    (kept_dir,) = (demo / ".mlready" / "kept").iterdir()
    assert err == [f"warning: 2 file(s) in {demo / 'build'} were not as the last build wrote them; the new build "
                   f"replaced them, copies kept in {kept_dir}:",
                   "  runtime/config.json (edited by hand)", "  notes/todo.txt (not written by mlready)"]
    assert (kept_dir / "runtime" / "config.json").read_text().startswith('{"edited": true, ')
    assert (kept_dir / "notes" / "todo.txt").read_text() == "mine"
    assert config.read_text() == generated and not (demo / "build" / "notes").exists()
    assert main(["build", "-q", "-C", str(demo)]) == 0  # nothing changed by hand: nothing to say
    assert capsys.readouterr().err == ""


@pytest.mark.slow
def test_a_successful_build_prints_its_verdicts(gated, capsys, monkeypatch):
    root = gated('"f1 >= 0.5", "auc >= 0.5"')
    monkeypatch.chdir(root)
    assert main(["build", "-C", ".", "optimize=fp16"]) == 0
    out = capsys.readouterr().out
    assert "  readiness: 2/2 gates passed -> build/reports/readiness.html\n" in out
    report = json.loads((root / "build" / "reports" / "optimization.json").read_text())
    assert f"  optimization: serving {report['chosen']} — {report['reason']} -> build/reports/optimization.html\n" in out


@pytest.mark.slow
def test_a_failed_gate_points_at_the_failed_report_not_the_previous_one(gated, capsys):
    root = gated()
    assert main(["build", "-q", "-C", str(root)]) == 0
    (root / "deploy.yaml").write_text(GATED.format(gates='"f1 >= 0.9999"'))
    assert main(["build", "-q", "-C", str(root)]) == 1
    err = capsys.readouterr().err
    failed = root / ".mlready" / "failed-build" / "reports" / "readiness.html"
    assert f"(see {failed})" in err and failed.is_file()
    assert "(see reports/readiness.html)" not in err


@pytest.mark.slow
def test_quiet_is_quiet_with_tracking_on(demo, capsys, monkeypatch):
    from mlready.engine.lifecycle.background import wait

    monkeypatch.delenv("MLREADY_TRACKING", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert main(["build", "-q", "-C", str(demo)]) == 0
    assert capsys.readouterr() == ("", "")
    assert wait(demo, timeout=120)


@pytest.mark.slow
def test_library_warnings_are_summarized_once(gated, tmp_path, capsys):
    import joblib
    import pandas as pd
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    frame = pd.read_csv(QUICKSTART / "data" / "train.csv")
    with pytest.warns(ConvergenceWarning):
        model = LogisticRegression(max_iter=3).fit(frame.drop(columns="target"), frame["target"])
    joblib.dump(model, tmp_path / "model.joblib")
    root = gated('"cv.f1.mean >= 0.1"')
    shutil.copyfile(tmp_path / "model.joblib", root / "model.joblib")
    assert main(["build", "-C", str(root)]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "ConvergenceWarning" in line]
    assert len(lines) == 1, err
    assert re.fullmatch(r"warning: sklearn ConvergenceWarning \(\d+ times\): lbfgs failed to converge.*", lines[0])
    assert "site-packages" not in err and "Increase the number of iterations" not in err


def test_a_failing_tracking_server_does_not_hide_the_kept_files(demo, capsys, monkeypatch):
    import socket

    assert main(["build", "-q", "-C", str(demo)]) == 0
    (demo / "build" / "mine.txt").write_text("mine")
    monkeypatch.delenv("MLREADY_TRACKING", raising=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing answers there
    capsys.readouterr()
    assert main(["build", "-q", "-C", str(demo), f"tracking.uri=http://127.0.0.1:{port}",
                 "tracking.timeout_seconds=2"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: the MLflow tracking server at http://127.0.0.1:{port} did not answer")
    assert "  mine.txt (not written by mlready)" in err
    (kept,) = (demo / ".mlready" / "kept").iterdir()
    assert (kept / "mine.txt").read_text() == "mine"


def test_a_folder_that_is_no_project_is_named_before_its_build_dir(tmp_path, monkeypatch, capsys):
    """`mlready build` in a repository root (whose build/ is setuptools' build/lib) or with the project as an
    argument: the missing deploy.yaml is the error, with the -C that was meant, not the build dir."""
    (tmp_path / "build" / "lib").mkdir(parents=True)
    shutil.copytree(QUICKSTART, tmp_path / "qs", ignore=shutil.ignore_patterns("build", ".mlready"))
    monkeypatch.chdir(tmp_path)
    assert main(["build"]) == 2
    assert f"no deploy.yaml in {tmp_path} (use -C to point at a project" in capsys.readouterr().err
    assert main(["build", "qs"]) == 2
    assert "did you mean `-C qs`?" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "build").iterdir()) == ["lib"]


def test_serve_and_score_outside_a_project_name_the_missing_deploy_yaml(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["serve"]) == 2
    assert f"no deploy.yaml in {tmp_path}" in capsys.readouterr().err
    assert main(["score", "-i", "in.csv", "-o", "out.csv"]) == 2
    assert f"no deploy.yaml in {tmp_path}" in capsys.readouterr().err
