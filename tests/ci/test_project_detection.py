"""The pipeline's install, test and train steps come from what the project really has (detected, or set in the
spec), a file the spec names must exist, and the model and data a fresh clone lacks are produced by a job."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from mlready.engine import api
from mlready.engine.errors import SpecError
from mlready.generators.ci import gitlab
from mlready.generators.ci.pipeline import build_pipeline
from mlready.generators.ci.project import plan_project

from .conftest import QUICKSTART, TARGETS

MLREADY = "mlready @ git+https://git.example.com/ml/mlready@v0.1.0"
PIP = "python -m pip install"


@pytest.fixture(autouse=True)
def _mlready_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLREADY_SPEC", MLREADY)


def quickstart(dest: Path) -> Path:
    shutil.copytree(QUICKSTART, dest, ignore=shutil.ignore_patterns("build", ".mlready"))
    return dest


def git_repo(project: Path, ignore: str = "") -> Path:
    if ignore:
        (project / ".gitignore").write_text(ignore)
    run = dict(cwd=project, check=True, capture_output=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], **run)
    subprocess.run(["git", "add", "."], **run)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init"], **run)
    return project


def gitlab_doc(project: Path, *overrides: str) -> tuple[dict, tuple[str, ...]]:
    spec = api.validate(project, ["+ci=gitlab", *TARGETS, *overrides])
    cfg = spec.section("ci.gitlab")
    plan = plan_project(spec, cfg, "ci.gitlab")
    return gitlab.render_gitlab(build_pipeline(spec, cfg, plan), cfg), plan.notes


def spec_problems(project: Path, *overrides: str) -> list[str]:
    with pytest.raises(SpecError) as err:
        api.validate(project, ["+ci=gitlab", *TARGETS, *overrides])
    return [str(p) for p in err.value.problems]


def test_the_quickstart_installs_mlready_only_and_has_no_unit_test_job(tmp_path: Path) -> None:
    # the old pipeline ran `pip install -r requirements.txt` and `pytest tests`: the quickstart has neither
    doc, notes = gitlab_doc(quickstart(tmp_path / "qs"))
    assert doc["install"]["script"] == ["python3 -m venv .venv", ". .venv/bin/activate",
                                        f"{PIP} 'mlready @ git+https://git.example.com/ml/mlready@v0.1.0'",
                                        "python -m pip check"]
    assert "unit-tests" not in doc and "unit-tests" not in doc["stages"] and "train" not in doc
    assert doc["build"]["needs"] == ["validate"]
    assert doc["install"]["cache"]["key"]["files"] == ["deploy.yaml"]
    assert notes == ("no unit-test job: no tests/ folder with test files (set ci.gitlab.tests to add one)",
                     "install: mlready only (no requirements.txt or pyproject.toml in the project)")


def test_requirements_without_mlready_and_pytest_get_both(tmp_path: Path) -> None:
    project = quickstart(tmp_path / "qs")
    (project / "requirements.txt").write_text("# mlready comes later\nscikit-learn>=1.4\n")
    (project / "tests").mkdir()
    (project / "tests" / "test_model.py").write_text("def test_ok():\n    assert True\n")
    doc, notes = gitlab_doc(project)
    assert doc["install"]["script"][2:] == [f"{PIP} -r requirements.txt", f"{PIP} '{MLREADY}'", f"{PIP} pytest",
                                            "python -m pip check"]
    assert doc["unit-tests"]["script"][-1] == "python -m pytest --junitxml=reports/junit.xml tests"
    assert doc["build"]["needs"] == ["unit-tests", "validate"]
    assert doc["install"]["cache"]["key"]["files"] == ["requirements.txt"]
    assert "requirements.txt does not list mlready: the pipeline installs " + MLREADY in notes


def test_a_project_listing_mlready_and_pytest_installs_its_requirements_only(tmp_path: Path) -> None:
    project = quickstart(tmp_path / "qs")
    (project / "requirements.txt").write_text(f"{MLREADY}\npytest>=8\n")
    (project / "tests").mkdir()
    (project / "tests" / "model_test.py").write_text("")
    doc, _ = gitlab_doc(project)
    assert doc["install"]["script"][2:] == [f"{PIP} -r requirements.txt", "python -m pip check"]


def test_a_requirement_on_a_local_path_is_flagged(tmp_path: Path) -> None:
    project = quickstart(tmp_path / "qs")
    (project / "requirements.txt").write_text("mlready @ file:///home/me/mlready\n")
    _, notes = gitlab_doc(project)
    assert ("warning: requirements.txt installs mlready from a path on this machine (mlready @ "
            "file:///home/me/mlready): point it at where the CI runner installs mlready from (a git URL, your "
            "index, a wheel URL)") in notes


def test_a_pyproject_is_installed_and_its_lock_file_keys_the_cache(tmp_path: Path) -> None:
    project = quickstart(tmp_path / "qs")
    (project / "pyproject.toml").write_text('[project]\nname = "qs"\nversion = "1"\ndependencies = ["mlready"]\n')
    (project / "uv.lock").write_text("")
    doc, _ = gitlab_doc(project)
    assert doc["install"]["script"][2:] == [f"{PIP} .", "python -m pip check"]
    assert doc["install"]["cache"]["key"]["files"] == ["pyproject.toml", "uv.lock"]


def test_the_spec_can_set_install_tests_lock_files_and_mlready(tmp_path: Path) -> None:
    project = quickstart(tmp_path / "qs")
    (project / "reqs").mkdir()
    (project / "reqs" / "ci.txt").write_text("mlready\n")
    (project / "checks").mkdir()
    doc, notes = gitlab_doc(project, "ci.gitlab.install=[python -m pip install -r reqs/ci.txt]",
                            "ci.gitlab.tests=checks", "ci.gitlab.lock_files=[reqs/ci.txt]")
    assert doc["install"]["script"][2:] == ["python -m pip install -r reqs/ci.txt", "python -m pip check"]
    assert doc["unit-tests"]["script"][-1].endswith(" checks")
    assert doc["install"]["cache"]["key"]["files"] == ["reqs/ci.txt"]
    assert "install: as ci.gitlab.install says" in notes
    doc, _ = gitlab_doc(project, "ci.gitlab.mlready='mlready==0.1.0'")
    assert doc["install"]["script"][2] == f"{PIP} mlready==0.1.0"


def test_files_the_spec_names_must_exist(tmp_path: Path) -> None:
    project = quickstart(tmp_path / "qs")
    assert spec_problems(project, "ci.gitlab.tests=tst", "ci.gitlab.lock_files=[poetry.lock]",
                         "ci.gitlab.install=[python -m pip install -r reqs/dev.txt]") == [
        f"override 'ci.gitlab.tests=tst' ci.gitlab.tests: 'tst' does not exist in the project ({project}); name "
        "the test folder or file, or '' for no unit-test job",
        f"override 'ci.gitlab.lock_files=[poetry.lock]' ci.gitlab.lock_files: 'poetry.lock' does not exist in "
        f"the project ({project})",
        f"override 'ci.gitlab.install=[python -m pip install -r reqs/dev.txt]' ci.gitlab.install: 'python -m pip "
        f"install -r reqs/dev.txt' names 'reqs/dev.txt', which does not exist in the project ({project})",
    ]


def test_a_model_git_ignores_is_trained_by_a_job_that_hands_it_on(tmp_path: Path) -> None:
    project = git_repo(quickstart(tmp_path / "qs"), ignore="model.joblib\ndata/\n")
    doc, notes = gitlab_doc(project)
    assert doc["train"]["script"][-1] == "python train.py"
    assert doc["train"]["needs"] == ["install"]
    assert doc["train"]["artifacts"]["paths"] == ["model.joblib", "data/train.csv", "data/eval.csv"]
    assert doc["validate"]["needs"] == ["install", "train"]
    assert doc["build"]["needs"] == ["validate", "train"]
    assert doc["image-build"]["needs"] == ["build", "train"]
    assert "train job: train.py makes model.joblib, data/train.csv, data/eval.csv (not tracked by git here)" in notes


def test_nothing_to_produce_an_untracked_model_is_a_spec_error(tmp_path: Path) -> None:
    project = quickstart(tmp_path / "qs")
    (project / "train.py").unlink()
    git_repo(project, ignore="model.joblib\n")
    assert spec_problems(project) == [
        f"{project / 'deploy.yaml'}:9 model.source: model.joblib is not tracked by git, so a fresh clone lacks it "
        "and nothing in the gitlab pipeline produces it: commit it, add a train.py, turn on +pipeline=dvc with a "
        "train stage, or set ci.gitlab.produce"]
    doc, _ = gitlab_doc(project, "ci.gitlab.produce=[make model]")
    assert doc["train"]["script"][-1] == "make model" and doc["train"]["artifacts"]["paths"] == ["model.joblib"]


def test_a_project_below_the_repository_root_is_flagged(tmp_path: Path) -> None:
    project = quickstart(tmp_path / "repo" / "models" / "qs")
    git_repo(tmp_path / "repo")
    _, notes = gitlab_doc(project)
    assert notes[0] == ("warning: the project is models/qs/ in its git repository, but the pipeline runs at the "
                        "repository root: give the project a repository of its own")


def test_outside_git_the_gitignore_decides(tmp_path: Path) -> None:
    project = quickstart(tmp_path / "qs")
    (project / ".gitignore").write_text("/data/\n")
    doc, _ = gitlab_doc(project)
    assert doc["train"]["artifacts"]["paths"] == ["data/train.csv", "data/eval.csv"]


def test_with_the_dvc_pipeline_on_its_train_stage_produces_them(tmp_path: Path) -> None:
    project = git_repo(quickstart(tmp_path / "qs"), ignore="model.joblib\n")
    with (project / "deploy.yaml").open("a") as fh:
        fh.write("pipeline:\n  dvc:\n    train:\n      cmd: python train.py --fast\n")
    doc, _ = gitlab_doc(project, "+pipeline=dvc")
    assert doc["train"]["script"][-1] == "python train.py --fast"
    (project / "dvc.yaml").write_text("stages: {}\n")
    doc, notes = gitlab_doc(project, "+pipeline=dvc")
    assert doc["train"]["script"][-1] == "dvc repro train"
    assert f"{PIP} dvc" in doc["install"]["script"]
    (project / ".dvc").mkdir()
    (project / ".dvc" / "config").write_text("[core]\n    remote = storage\n['remote \"storage\"']\n    url = /tmp/x\n")
    doc, _ = gitlab_doc(project, "+pipeline=dvc")
    assert doc["train"]["script"][-1] == "dvc pull train"
    assert f"{PIP} dvc" in doc["install"]["script"]


def test_the_build_says_what_it_decided_and_the_pipeline_lists_it(tmp_path: Path, capsys) -> None:
    from mlready.engine.cli import main

    project = git_repo(quickstart(tmp_path / "qs"), ignore="model.joblib\n")
    assert main(["build", "-C", str(project), "+ci=[gitlab,jenkins]", *TARGETS, "tracking.enabled=false",
                 "readiness.enabled=false"]) == 0
    out = capsys.readouterr().out
    build = project / "build"
    assert (f"  ci: {build / 'ci' / '.gitlab-ci.yml'}, {build / 'ci' / 'Jenkinsfile'}\n"
            "    no unit-test job: no tests/ folder with test files (set ci.<system>.tests to add one)\n"
            "    install: mlready only (no requirements.txt or pyproject.toml in the project)\n"
            "    train job: train.py makes model.joblib (not tracked by git here)\n") in out
    text = (build / "ci" / ".gitlab-ci.yml").read_text()
    assert "# install: mlready only (no requirements.txt or pyproject.toml in the project)\n" in text
    assert "# train job: train.py makes model.joblib (not tracked by git here)\n" in text
    assert yaml.safe_load(text)["install"]["script"][2] == f"{PIP} '{MLREADY}'"
    assert "// install: mlready only" in (build / "ci" / "Jenkinsfile").read_text()
