"""``mlready promote NAME --version N --alias champion``: move a Model Registry alias."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(name="promote")
@click.argument("name")
@click.option("--version", "version", type=click.IntRange(min=1), default=None, help="model version number")
@click.option(
    "--from-build",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="promote the registered version holding the model this build directory served (e.g. build)",
)
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
def command(name: str, version: int | None, from_build: Path | None, alias: str, project_dir: Path,
            tracking_uri: str | None) -> None:
    """Point NAME@ALIAS at model version N.

    \b
    Builds whose model.source is models:/NAME@ALIAS follow the alias: promote, then rebuild to deploy;
    point the alias back at an older version and rebuild to roll back. --from-build build promotes the
    version a build registered (a pipeline's last step, once its gates passed).
    """
    from mlready.engine import api

    if (version is None) == (from_build is None):
        raise click.UsageError("give exactly one of --version N and --from-build DIR")
    result = api.promote(project_dir, name, version, alias, tracking_uri, from_build)
    click.echo(result.describe())
