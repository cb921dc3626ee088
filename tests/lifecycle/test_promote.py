"""``mlready promote`` moves aliases in a real SQLite MLflow store, through the CLI entry point."""

from __future__ import annotations

import pytest
from mlready.engine.cli import main
from mlready.engine.lifecycle.registry import resolve_model_uri


@pytest.fixture
def store_copy(registry, tmp_path):
    """A private copy of the session registry (so moving aliases does not leak into other tests)."""
    import shutil

    db = tmp_path / "mlflow.db"
    shutil.copy(registry["uri"].removeprefix("sqlite:///"), db)
    return f"sqlite:///{db}"


def test_promote_moves_the_alias_and_resolution_follows(store_copy, spec_for, tmp_path, capsys):
    spec = spec_for(tmp_path, tracking={"uri": store_copy})
    assert resolve_model_uri("models:/iris@champion", spec).parent.parent.name == "1"

    code = main(["promote", "iris", "--version", "2", "--alias", "champion", "--tracking-uri", store_copy])
    assert code == 0
    assert capsys.readouterr().out == "iris@champion: version 1 -> version 2\n"
    assert resolve_model_uri("models:/iris@champion", spec).parent.parent.name == "2"

    # rollback: point it back
    assert main(["promote", "iris", "--version", "1", "--tracking-uri", store_copy]) == 0
    assert capsys.readouterr().out == "iris@champion: version 2 -> version 1\n"
    assert main(["promote", "iris", "--version", "1", "--tracking-uri", store_copy]) == 0
    assert capsys.readouterr().out == "iris@champion already points at version 1\n"


def test_promote_new_alias(store_copy, capsys):
    assert main(["promote", "iris", "--version", "2", "--alias", "staging", "--tracking-uri", store_copy]) == 0
    assert capsys.readouterr().out == "iris@staging: nothing -> version 2\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope", "--version", "1"], "error: registered model 'nope' not found in {uri}; registered models: iris, iris-flavor"),
        (["iris", "--version", "9"], "error: model 'iris' has no version 9; versions: 1, 2"),
        (["iris", "--version", "1", "--alias", "bad alias"], "error: alias 'bad alias' may only contain"),
        (["iris", "--version", "1", "--alias", "latest"], "error: alias 'latest' is reserved by MLflow"),
    ],
)
def test_promote_errors_exit_2_and_list_what_exists(store_copy, capsys, args, message):
    assert main(["promote", *args, "--tracking-uri", store_copy]) == 2
    assert capsys.readouterr().err.startswith(message.format(uri=store_copy))


def test_promote_uses_the_project_embedded_store_by_default(registry, tmp_path, capsys):
    """Without deploy.yaml or a URI, the project's embedded store is used; an empty store lists nothing."""
    assert main(["promote", "iris", "--version", "1", "-C", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "registered model 'iris' not found in sqlite:///" in err
    assert err.rstrip().endswith("registered models: (none)")
    assert (tmp_path / ".mlready" / "mlflow.db").is_file()


def test_promote_reads_the_store_from_the_projects_spec(store_copy, tmp_path, capsys):
    project = tmp_path / "proj"
    project.mkdir()
    (project / "deploy.yaml").write_text(
        "project:\n  name: iris-app\nmodel:\n  source: models:/iris@champion\n  format: sklearn\n"
        f"tracking:\n  uri: {store_copy}\n"
    )
    assert main(["promote", "iris", "--version", "2", "-C", str(project)]) == 0
    assert capsys.readouterr().out == "iris@champion: version 1 -> version 2\n"
    assert not (project / ".mlready" / "mlflow.db").exists()  # not the embedded store
