"""Telling a SavedModel directory's format without TensorFlow: the `tensorflow` format's marker file
(saved_model.pb) names it; a directory without one, or a directory given to a file format, is a located spec
error."""

from __future__ import annotations

import pytest
from mlready.engine import api
from mlready.engine.errors import SpecError
from mlready.generators._shared.source import detect
from mlready.generators.model import ModelGenerator


def test_a_directory_holding_saved_model_pb_is_a_tensorflow_model(tmp_path):
    saved = tmp_path / "export"
    saved.mkdir()
    assert detect("auto", "export", None, saved) is None
    (saved / "saved_model.pb").write_bytes(b"")
    assert detect("auto", "export", None, saved) == "tensorflow"
    assert detect("auto", "export", None) is None  # the name alone says nothing
    assert detect("auto", "model.keras", None) == "keras" and detect("auto", "m.h5", None) == "keras"


def _problems(root, model: str) -> list[str]:
    (root / "deploy.yaml").write_text(f"project: {{name: demo}}\nmodel:\n{model}")
    with pytest.raises(SpecError) as info:
        api.validate(root, [], generators=[ModelGenerator()])
    return [str(p) for p in info.value.problems]


def test_a_directory_that_no_format_marks_is_a_located_spec_error(tmp_path):
    (tmp_path / "export" / "variables").mkdir(parents=True)
    [problem] = _problems(tmp_path, "  source: export\n")
    assert problem.startswith(f"{tmp_path / 'deploy.yaml'}:3 model.source: cannot tell the format of 'export'")


def test_a_directory_is_no_keras_file(tmp_path):
    (tmp_path / "model.keras").mkdir()
    assert _problems(tmp_path, "  source: model.keras\n") == [
        f"{tmp_path / 'deploy.yaml'}:3 model.source: {tmp_path / 'model.keras'} is a directory; the keras format "
        "reads a model file"
    ]
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "saved_model.pb").write_bytes(b"")
    assert _problems(tmp_path, "  source: export\n  format: keras\n") == [
        f"{tmp_path / 'deploy.yaml'}:3 model.source: {tmp_path / 'export'} is a directory; the keras format reads a "
        "model file (export is a TensorFlow SavedModel directory: model.format tensorflow or auto)"
    ]


def test_a_saved_model_directory_validates(tmp_path):
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "saved_model.pb").write_bytes(b"")
    (tmp_path / "deploy.yaml").write_text("project: {name: demo}\nmodel:\n  source: export\n")
    api.validate(tmp_path, [], generators=[ModelGenerator()])


def test_a_registry_artifact_holding_a_saved_model_resolves_to_its_directory(tmp_path):
    from mlready.engine.lifecycle.registry import RegistryLookupError, find_model_file

    (tmp_path / "MLmodel").write_text("flavors:\n  tensorflow: {saved_model_dir: tf2model}\n")
    (tmp_path / "requirements.txt").write_text("tensorflow\n")
    (tmp_path / "tf2model" / "variables").mkdir(parents=True)
    (tmp_path / "tf2model" / "saved_model.pb").write_bytes(b"")
    assert find_model_file(tmp_path) == tmp_path / "tf2model"
    assert detect("auto", "tf2model", None, find_model_file(tmp_path)) == "tensorflow"
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "saved_model.pb").write_bytes(b"")
    with pytest.raises(RegistryLookupError, match=r"several model directories in the artifact \(other, tf2model\)"):
        find_model_file(tmp_path)
