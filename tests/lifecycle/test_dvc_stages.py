"""dvc.yaml generation as data (no dvc needed)."""

from __future__ import annotations

import pytest
from mlready.generators.dvc.stages import DvcSpec, build_overrides, pipeline
from pydantic import ValidationError


def _doc(cfg: DvcSpec, **kw):
    args = {"overrides": ["+pipeline=dvc", "+target=k8s", "env=prod"], "model_source": "model.joblib",
            "data_files": ["data/train.csv", "data/eval.csv"], "has_local_conf": True}
    args.update(kw)
    return pipeline(cfg, **args)


def test_train_and_build_stages_are_linked_by_the_model_file():
    cfg = DvcSpec(enabled=True, train={"cmd": "python train.py", "deps": ["train.py"], "params": ["params.yaml"]})
    doc = _doc(cfg)
    assert doc["stages"]["train"] == {
        "cmd": "python train.py", "deps": ["train.py"], "params": [{"params.yaml": None}], "outs": ["model.joblib"],
    }
    assert doc["stages"]["build"] == {
        "cmd": "mlready build +target=k8s env=prod",
        "deps": ["model.joblib", "data/train.csv", "data/eval.csv", "conf"],
        "params": [{"deploy.yaml": None}],
        "outs": [{"build": {"cache": False}}],
    }
    assert doc["metrics"] == ["build/reports/readiness.json"]
    assert list(doc["stages"]) == ["train", "build"]


def test_without_a_train_command_there_is_only_the_build_stage():
    doc = _doc(DvcSpec(), has_local_conf=False, optimized=True)
    assert list(doc["stages"]) == ["build"]
    assert "conf" not in doc["stages"]["build"]["deps"]
    assert doc["metrics"] == ["build/reports/readiness.json", "build/reports/optimization.json"]


def test_registry_sources_are_not_file_deps_and_commands_are_shell_quoted():
    cfg = DvcSpec(mlready=".venv/bin/mlready", out="dist/my build", deps=["features.py"])
    doc = _doc(cfg, model_source="models:/iris@champion", overrides=["+target=[docker,k8s]", "project.description=a b"])
    build = doc["stages"]["build"]
    assert build["cmd"] == (
        ".venv/bin/mlready build '+target=[docker,k8s]' 'project.description=a b' --out 'dist/my build'"
    )
    assert build["deps"] == ["data/train.csv", "data/eval.csv", "conf", "features.py"]
    assert build["outs"] == [{"dist/my build": {"cache": False}}]


def test_pipeline_overrides_are_dropped_unless_given():
    assert build_overrides(DvcSpec(), ["+pipeline=dvc", "pipeline.dvc.mlready=x", "+target=k8s"]) == ["+target=k8s"]
    assert build_overrides(DvcSpec(overrides=["env=prod"]), ["+target=k8s"]) == ["env=prod"]


@pytest.mark.parametrize("bad", ["/abs/path", "../outside", ""])
def test_paths_must_stay_inside_the_project(bad):
    with pytest.raises(ValidationError, match="give a path relative to the project root, inside it"):
        DvcSpec(deps=[bad])
