"""``mlready promote NAME --version N --alias champion``: move a Model Registry alias."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(name="promote")
@click.argument("name")
@click.option("--version", "version", type=click.IntRange(min=1), required=True, help="model version number")
@click.option("--alias", default="champion", show_default=True, help="the alias to move")
@click.option(
    "-C",
    "--project",
    "project_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="project whose tracking store to use",
)
@click.option("--tracking-uri", default=None, help="MLflow tracking URI (default: the project's store)")
def command(name: str, version: int, alias: str, project_dir: Path, tracking_uri: str | None) -> None:
    """Point NAME@ALIAS at model version N.

    \b
    Builds whose model.source is models:/NAME@ALIAS follow the alias: promote, then rebuild to deploy;
    point the alias back at an older version and rebuild to roll back.
    """
    from mlready.engine import api

    result = api.promote(project_dir, name, version, alias, tracking_uri)
    click.echo(result.describe())
