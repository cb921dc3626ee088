"""This project's own tests: the training script and the deployment spec."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import joblib
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def _train_module():
    spec = importlib.util.spec_from_file_location("train", ROOT / "train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_training_is_accurate_and_deterministic(tmp_path):
    train = _train_module()
    first = train.main(tmp_path / "a")
    second = train.main(tmp_path / "b")
    assert first >= {% if cookiecutter.dataset == 'diabetes' %}0.3  # R²: the diabetes data is noisy{% else %}0.8{% endif %}
    assert first == second
    evaluation = pd.read_csv(tmp_path / "a" / "data" / "eval.csv")
    features = evaluation.drop(columns="target")
    model_a = joblib.load(tmp_path / "a" / "model" / "model.joblib")
    model_b = joblib.load(tmp_path / "b" / "model" / "model.joblib")
    assert (model_a.predict(features) == model_b.predict(features)).all()
    assert list(evaluation.columns)[-1] == "target"


def test_deploy_spec_is_valid_with_the_k8s_target(tmp_path):
    from mlready.engine import api

    project = tmp_path / "project"
    project.mkdir()
    for name in ("deploy.yaml", "params.yaml", "train.py"):
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(ROOT / "conf", project / "conf")
    _train_module().main(project, project / "params.yaml")
    spec = api.validate(project, ["+target=k8s"])
    assert spec.project.name == "{{ cookiecutter.project_slug }}"
    assert spec.section("target.k8s").environments.dev.resources.cpu == "100m"  # conf/target/k8s.yaml
