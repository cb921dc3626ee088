"""``mlready new``: scaffold -> train -> ``mlready build +target=k8s`` with no edits -> the project's tests pass."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mlready.engine import api
from mlready.engine.cli import main

BIN = Path(sys.executable).parent


def _env() -> dict[str, str]:
    env = dict(os.environ, MLREADY_TRACKING="0")
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    env.pop("PYTEST_ADDOPTS", None)
    return env


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("new")
    code = main(["new", "--no-input", "-o", str(out), "project_name=Churn Model", "dataset=breast_cancer",
                 "ci=github"])
    assert code == 0
    return out / "churn-model"


def test_scaffold_has_the_project_files_dotfiles_included(scaffolded):
    files = {p.relative_to(scaffolded).as_posix() for p in scaffolded.rglob("*") if p.is_file()}
    assert {
        ".gitignore", "Makefile", "README.md", "deploy.yaml", "params.yaml", "train.py", "requirements.txt",
        "pytest.ini", "conf/target/k8s.yaml", "tests/test_project.py",
    } <= files
    spec = yaml.safe_load((scaffolded / "deploy.yaml").read_text())
    assert spec["project"] == {"name": "churn-model", "version": "0.1.0",
                               "description": "A scikit-learn model deployed with mlready"}
    assert 'DATASET = "breast_cancer"' in (scaffolded / "train.py").read_text()
    assert "OVERRIDES ?= '+target=[docker,k8s]' +ci=github" in (scaffolded / "Makefile").read_text()
    assert "{{" not in "".join((scaffolded / f).read_text() for f in files)


def test_requirements_install_mlready_from_where_it_resolves(tmp_path, monkeypatch):
    from mlready.engine.distribution import mlready_requirement

    def requirement_line(*args: str) -> str:
        out = tmp_path / str(len(list(tmp_path.iterdir())))
        assert main(["new", "--no-input", "-o", str(out), *args]) == 0
        lines = (out / "iris-classifier" / "requirements.txt").read_text().splitlines()
        return next(line for line in lines if "mlready" in line and not line.startswith("#"))

    monkeypatch.delenv("MLREADY_SPEC", raising=False)
    here = mlready_requirement()
    assert here.startswith("mlready @ file://")  # this checkout, installed editable by tools/setup.sh
    assert requirement_line() == here
    monkeypatch.setenv("MLREADY_SPEC", "mlready @ git+https://git.example.com/ml/mlready@v0.1.0")
    assert requirement_line() == "mlready @ git+https://git.example.com/ml/mlready@v0.1.0"
    assert requirement_line("mlready_requirement=mlready==0.1.0") == "mlready==0.1.0"


def test_the_shipped_gates_can_fail(scaffolded):
    gates = yaml.safe_load((scaffolded / "deploy.yaml").read_text())["readiness"]["gates"]
    assert len(gates) == 4
    for gate in gates:
        metric, op, threshold = gate.split()
        # a floor well above chance, a ceiling on CV spread: a bad model or an unstable one fails the build
        assert (op == ">=" and float(threshold) >= 0.85) or (op == "<=" and float(threshold) <= 0.1), gate


@pytest.mark.slow
def test_train_build_k8s_and_the_projects_own_tests(scaffolded):
    train = subprocess.run([sys.executable, "train.py"], cwd=scaffolded, env=_env(), capture_output=True,
                           text=True, timeout=300)
    assert train.returncode == 0, train.stderr
    assert train.stdout.startswith("eval accuracy: ")

    result = api.build(scaffolded, ["+target=k8s"], use_cache=False)
    kinds = {a.kind for a in result.manifest.artifacts}
    assert "onnx-model" in kinds and "readiness-report" in kinds
    report = json.loads((scaffolded / "build" / "reports" / "readiness.json").read_text())
    assert report["summary"] == {"gates": 4, "passed": 4, "failed": 0}  # the shipped gates are checked
    assert (scaffolded / "build" / "k8s" / "base" / "deployment.yaml").is_file()

    # the README's registry deploy: promote the registered version, build from the alias (conf/source/)
    assert main(["promote", "churn-model", "--version", "1", "--alias", "champion", "-C", str(scaffolded)]) == 0
    api.build(scaffolded, ["+source=champion", "+target=k8s"], use_cache=False)
    report = json.loads((scaffolded / "build" / "reports" / "readiness.json").read_text())
    assert report["summary"] == {"gates": 2, "passed": 2, "failed": 0}
    manifest = json.loads((scaffolded / "build" / "manifest.json").read_text())
    assert "+source=champion" in manifest["spec"]["overrides"]

    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=scaffolded,
                           env=_env(), capture_output=True, text=True, timeout=600)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "2 passed" in tests.stdout


@pytest.mark.slow
def test_a_regression_scaffold_trains_builds_and_passes_its_gates_and_tests(tmp_path):
    """dataset=diabetes: a ridge regression, regression gates in deploy.yaml and conf/source/champion.yaml, its
    own tests' floor on R², no stratified split (the target is continuous)."""
    assert main(["new", "--no-input", "-o", str(tmp_path), "project_name=Diabetes Progression", "dataset=diabetes",
                 "ci=none"]) == 0
    project = tmp_path / "diabetes-progression"
    spec = yaml.safe_load((project / "deploy.yaml").read_text())
    assert spec["model"]["task"] == "regression" and spec["readiness"]["gates"][0] == "r2 >= 0.3"
    assert yaml.safe_load((project / "conf/source/champion.yaml").read_text())["readiness"]["gates"] == [
        "r2 >= 0.3", "mae <= 50"]
    train = subprocess.run([sys.executable, "train.py"], cwd=project, env=_env(), capture_output=True, text=True,
                           timeout=300)
    assert train.returncode == 0 and train.stdout.startswith("eval r2: "), train.stdout + train.stderr
    api.build(project, ["+target=k8s"], use_cache=False)
    report = json.loads((project / "build" / "reports" / "readiness.json").read_text())
    assert report["summary"] == {"gates": 4, "passed": 4, "failed": 0}
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project,
                           env=_env(), capture_output=True, text=True, timeout=600)
    assert tests.returncode == 0 and "2 passed" in tests.stdout, tests.stdout + tests.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["project_slug=Churn_Model"],
         "error: invalid project_slug: 'Churn_Model' is not a DNS-1123 label (lowercase letters, digits and '-', "
         "start and end alphanumeric, at most 63 characters) (it names the image, the Kubernetes objects and the "
         "MLflow experiment)\n"),
        (["project_slug=-lead"], "error: invalid project_slug: '-lead' is not a DNS-1123 label"),
        ([f"project_slug={'a' * 64}"], "is not a DNS-1123 label"),
        (["ci=travis"], "error: ci='travis' is not one of: github, gitlab, circleci, jenkins, none\n"),
        (["colour=red"], "error: unknown template variable 'colour'; known: project_name, project_slug, "
                         "description, dataset, ci, image_registry, mlready_requirement\n"),
        (["project_name"], "error: expected key=value, got 'project_name'"),
    ],
)
def test_bad_input_exits_2_with_the_rule_and_writes_nothing(tmp_path, capsys, args, message):
    assert main(["new", "--no-input", "-o", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert list(tmp_path.iterdir()) == []


def test_interactive_prompts_then_checks_the_slug(tmp_path):
    mlready = [str(BIN / "mlready"), "new", "-o", str(tmp_path)]
    answers = "Churn Model\nchurn_model\n\n\n\n\n\n"
    bad = subprocess.run(mlready, input=answers, env=_env(), capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert "error: invalid project_slug: 'churn_model' is not a DNS-1123 label" in bad.stderr
    assert list(tmp_path.iterdir()) == []

    answers = "Churn Model\n\n\n2\n2\n\n\n"  # default slug, dataset 2 (wine), ci 2 (gitlab), default mlready
    ok = subprocess.run(mlready, input=answers, env=_env(), capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    project = tmp_path / "churn-model"
    assert 'DATASET = "wine"' in (project / "train.py").read_text()
    assert "+ci=gitlab" in (project / "Makefile").read_text()


def test_existing_destination_is_refused(scaffolded, capsys):
    code = main(["new", "--no-input", "-o", str(scaffolded.parent), "project_name=Churn Model"])
    assert code == 2
    assert "already exists" in capsys.readouterr().err


def test_no_terminal_and_no_answers_says_how_to_pass_them(tmp_path):
    """A CI job or a pipe without --no-input: the first prompt meets end of input; the error says what to do."""
    run = subprocess.run([sys.executable, "-m", "mlready.engine", "new", "-o", str(tmp_path)], stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    assert "stdin is not one: pass --no-input with the answers" in run.stderr
    assert list(tmp_path.iterdir()) == []
