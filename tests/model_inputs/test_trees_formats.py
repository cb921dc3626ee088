"""The tree formats in the registry: which suffixes tell them, what a downloaded MLflow artifact resolves to
(MLflow writes requirements.txt and example JSON beside the model: those are never taken for models)."""

from __future__ import annotations

import pytest
from mlready.engine import formats
from mlready.engine.lifecycle.registry import find_model_file
from mlready.generators._shared.source import detect


@pytest.mark.parametrize(("source", "expected"), [
    ("model.json", "xgboost"), ("model.UBJ", "xgboost"), ("model.xgb", "xgboost"),
    ("model.txt", "lightgbm"), ("model.lgb", "lightgbm"),
    ("model.cbm", "catboost"), ("model.cb", "catboost"),
    ("model.joblib", "sklearn"),  # a joblib booster goes through the sklearn format's hook (boosters.prepare)
])
def test_native_suffixes_tell_the_format(source, expected):
    assert detect("auto", source, None) == expected


@pytest.mark.parametrize(("flavor", "data"), [("lightgbm", "model.lgb"), ("xgboost", "model.xgb"),
                                              ("catboost", "model.cb")])
def test_mlflow_flavor_artifact_resolves_to_the_model_not_its_text_files(tmp_path, flavor, data):
    (tmp_path / "MLmodel").write_text(f"flavors:\n  {flavor}:\n    data: {data}\n  python_function: {{}}\n")
    (tmp_path / data).write_bytes(b"model")
    (tmp_path / "requirements.txt").write_text("lightgbm\n")
    (tmp_path / "input_example.json").write_text("{}")
    assert find_model_file(tmp_path) == tmp_path / data


def test_shared_suffixes_are_not_searched_in_an_artifact(tmp_path):
    """A PyTorch artifact (no flavor mlready reads) beside MLflow's text files: the .pth is the model."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "model.pth").write_bytes(b"x")
    (tmp_path / "requirements.txt").write_text("torch\n")
    (tmp_path / "serving_input_example.json").write_text("{}")
    assert find_model_file(tmp_path) == tmp_path / "data" / "model.pth"
    assert ".txt" not in formats.model_suffixes() and ".txt" in formats.source_suffixes()
