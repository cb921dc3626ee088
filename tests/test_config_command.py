"""`mlready config` shows the enabled sections only (unless --all), each value with where it came from: a
deploy.yaml line, a group's option file, an override, the switch that turned its section on, or the default."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from mlready.engine.cli import main

QUICKSTART = Path(__file__).resolve().parent.parent / "examples" / "quickstart"


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, root, ignore=shutil.ignore_patterns("build", ".mlready", "mlruns", "mlflow.db"))
    monkeypatch.chdir(root)
    monkeypatch.setenv("MLREADY_CACHE_DIR", str(tmp_path / "cache"))
    return root


def config(capsys, *args: str) -> str:
    capsys.readouterr()
    assert main(["config", "-C", ".", *args]) == 0
    return capsys.readouterr().out


def line_of(deploy: Path, text: str) -> int:
    return next(i for i, line in enumerate(deploy.read_text().splitlines(), 1) if text in line)


def test_values_say_where_they_came_from(project, capsys):
    out = config(capsys, "env=prod", "+target=k8s", "serving.replicas=3")
    lines = out.splitlines()
    assert f"  source: model.joblib  # deploy.yaml:{line_of(project / 'deploy.yaml', 'source: model.joblib')}" in lines
    assert "  replicas: 3  # override 'serving.replicas=3'" in lines
    assert "  name: prod  # mlready:conf/env/prod.yaml:3" in lines
    assert "  opset: 17  # default" in lines
    assert any(line.startswith("    enabled: true  # override '+target=k8s'") for line in lines)
    spec = yaml.safe_load(out.split("\n---\n", 1)[1])  # still YAML: the origins are comments
    assert spec["serving"]["replicas"] == 3 and spec["target"] == {"k8s": spec["target"]["k8s"]}


def test_sections_that_are_off_are_hidden_unless_all(project, capsys):
    out = config(capsys, "+target=k8s")
    spec = yaml.safe_load(out.split("\n---\n", 1)[1])
    assert set(spec["target"]) == {"k8s"} and "gitlab" not in spec.get("ci", {})
    assert "sections are off and not shown (--all shows them): " in out and "target.docker" in out
    every = yaml.safe_load(config(capsys, "+target=k8s", "--all").split("\n---\n", 1)[1])
    assert {"docker", "k8s", "helm", "kserve"} <= set(every["target"]) and "gitlab" in every["ci"]
    assert every["target"]["docker"]["enabled"] is False


def test_json_has_each_leafs_origin(project, capsys):
    data = json.loads(config(capsys, "--json", "+target=docker"))
    assert data["where"]["project.name"] == f"deploy.yaml:{line_of(project / 'deploy.yaml', 'name: quickstart')}"
    assert data["where"]["target.docker.enabled"].startswith("override '+target=docker'")
    assert data["where"]["model.opset"] == "default"
    assert "target.k8s" in data["hidden"] and "k8s" not in data["spec"]["target"]
