"""Registry resolution against a real SQLite MLflow store."""

from __future__ import annotations

import joblib
import pytest
from mlready.engine.errors import SpecError
from mlready.engine.lifecycle.registry import RegistryLookupError, parse_model_uri, resolve_model_uri


def _coef_c(path):
    return joblib.load(path).C


def test_version_uri_downloads_that_version(registry, spec_for, tmp_path):
    spec = spec_for(tmp_path, tracking={"uri": registry["uri"]})
    path = resolve_model_uri("models:/iris/2", spec)
    assert path.name == "model.joblib"
    assert path.is_relative_to(tmp_path / ".mlready" / "models")
    assert _coef_c(path) == 2.0


def test_alias_follows_the_registry(registry, spec_for, tmp_path):
    spec = spec_for(tmp_path, tracking={"uri": registry["uri"]})
    assert _coef_c(resolve_model_uri("models:/iris@champion", spec)) == 0.5
    assert _coef_c(resolve_model_uri("models:/iris@challenger", spec)) == 2.0
    assert _coef_c(resolve_model_uri("models:/iris/latest", spec)) == 2.0


def test_mlflow_flavor_model_resolves_to_its_model_file(registry, spec_for, tmp_path):
    spec = spec_for(tmp_path, tracking={"uri": registry["uri"]})
    path = resolve_model_uri("models:/iris-flavor/1", spec)
    assert (path.parent / "MLmodel").is_file()
    assert path.suffix in (".skops", ".pkl")
    assert path.stat().st_size > 0


def test_runs_uri_directory_and_file(registry, spec_for, tmp_path):
    spec = spec_for(tmp_path, tracking={"uri": registry["uri"]})
    run1 = registry["runs"][0]
    assert _coef_c(resolve_model_uri(f"runs:/{run1}/model", spec)) == 0.5
    assert resolve_model_uri(f"runs:/{run1}/model/model.joblib", spec).name == "model.joblib"


def test_env_tracking_uri_wins_over_the_spec(registry, spec_for, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry["uri"])
    spec = spec_for(tmp_path, tracking={"uri": f"sqlite:///{tmp_path / 'other.db'}"})
    assert _coef_c(resolve_model_uri("models:/iris/1", spec)) == 0.5
    assert not (tmp_path / "other.db").exists()


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("models:/nope/1",
         "registered model 'nope' not found in sqlite:///{db}; registered models: iris, iris-flavor"),
        ("models:/nope@champion",
         "registered model 'nope' not found in sqlite:///{db}; registered models: iris, iris-flavor (a build with "
         "tracking on registers it: build once without this reference, then `mlready promote nope --from-build "
         "build --alias champion`)"),
        ("models:/iris/7", "model 'iris' has no version 7; versions: 1, 2"),
        (
            "models:/iris@prod",
            "model 'iris' has no alias 'prod'; aliases: @challenger -> 2, @champion -> 1; versions: 1, 2 (point it "
            "at one: `mlready promote iris --version 2 --alias prod`, or --from-build build for the version a build "
            "registered)",
        ),
        ("runs:/0123456789abcdef/model", "run '0123456789abcdef' not found in sqlite:///{db}"),
    ],
)
def test_missing_things_list_what_exists(registry, spec_for, tmp_path, uri, expected):
    spec = spec_for(tmp_path, tracking={"uri": registry["uri"]})
    with pytest.raises(SpecError) as info:
        resolve_model_uri(uri, spec)
    db = registry["uri"].removeprefix("sqlite:///")
    assert str(info.value) == "model.source: " + expected.format(db=db)
    assert info.value.exit_code == 2


def test_missing_run_artifact_lists_the_run_artifacts(registry, spec_for, tmp_path):
    spec = spec_for(tmp_path, tracking={"uri": registry["uri"]})
    run1 = registry["runs"][0]
    with pytest.raises(SpecError, match=rf"run {run1} has no artifact 'weights'; its artifacts: model$"):
        resolve_model_uri(f"runs:/{run1}/weights", spec)


@pytest.mark.parametrize("uri", ["models:/iris", "models:/iris/one", "runs:/abc", "s3://bucket/model"])
def test_malformed_uris_name_the_accepted_forms(uri):
    with pytest.raises(RegistryLookupError, match="use models:/<name>/<version>, models:/<name>@<alias>"):
        parse_model_uri(uri)


def test_a_build_from_an_alias_serves_it_as_a_version_label(registry, tmp_path, monkeypatch):
    """models:/iris@champion -> the runtime config labels the served version 'champion'."""
    import json

    from mlready.engine import api

    project = tmp_path / "alias-project"
    project.mkdir()
    (project / "deploy.yaml").write_text(
        "project:\n  name: iris-demo\nmodel:\n  source: models:/iris@champion\n  version: 4\n"
        f"tracking:\n  uri: {registry['uri']}\n"
    )
    monkeypatch.setenv("MLREADY_TRACKING", "0")  # resolve through the registry, record nothing
    result = api.build(project, [], run_hooks=False)
    config = json.loads((result.out_dir / "runtime" / "config.json").read_text())
    assert config["models"]["iris-demo"]["labels"] == {"champion": 4}
