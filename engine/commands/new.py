"""``mlready new``: create a project from the cookiecutter template."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(name="new")
@click.argument("assignments", nargs=-1, metavar="[KEY=VALUE]...")
@click.option("--no-input", is_flag=True, help="Do not prompt: take the defaults and the KEY=VALUE given.")
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="Where to create the project folder.",
)
def command(assignments: tuple[str, ...], no_input: bool, output_dir: Path) -> None:
    """Create a new mlready project (deploy.yaml, local conf, training script, tests, README, CI choice).

    \b
    Examples:
      mlready new
      mlready new --no-input project_name="Churn Model" dataset=wine ci=gitlab
    Variables: project_name, project_slug, description, dataset (iris|wine|breast_cancer; diabetes: a regression),
    ci (github|gitlab|circleci|jenkins|none), image_registry, mlready_requirement (the pip requirement
    requirements.txt installs mlready with; default: $MLREADY_SPEC, else where this mlready came from).
    """
    import sys

    from mlready.engine.errors import UsageError
    from mlready.engine.lifecycle.scaffold import new_project

    try:
        path = new_project(output_dir, assignments, no_input=no_input)
    except (EOFError, click.exceptions.Abort):
        if no_input or sys.stdin.isatty():
            raise  # Ctrl-D at a prompt
        raise UsageError("mlready new asks its questions on a terminal, and stdin is not one: pass --no-input "
                         "with the answers, e.g. mlready new --no-input project_name=\"Churn Model\" dataset=wine "
                         "ci=gitlab") from None
    click.echo(f"created {path}\nnext: cd {path} && python train.py && mlready build +target=k8s")
