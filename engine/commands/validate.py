"""``mlready validate``"""

from __future__ import annotations

import click
from mlready.engine.commands.common import common, emit_json, json_option, quiet_option


@click.command("validate")
@common
@quiet_option
@json_option
def command(project: str, overrides: tuple[str, ...], quiet: bool, as_json: bool) -> None:
    """Check the spec (composition, types, files it names) without building anything."""
    from mlready.engine import api

    spec = api.validate(project, list(overrides))
    if as_json:
        emit_json({"ok": True, "project": spec.project.name, "choices": spec.choices})
    elif not quiet:
        click.echo(f"{spec.project.name}: the spec is valid")
