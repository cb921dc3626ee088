"""``mlready config``"""

from __future__ import annotations

import click
from mlready.engine.commands.common import common, emit_json, json_option


@click.command("config")
@common
@json_option
def command(project: str, overrides: tuple[str, ...], as_json: bool) -> None:
    """Print the composed, validated spec as YAML, and where each config group choice came from."""
    from mlready.engine import api
    from mlready.engine.serialize import dump_yaml

    spec, origin = api.compose_config(project, list(overrides))
    if as_json:
        emit_json({"spec": spec.to_dict(), "choices": spec.choices, "origin": origin})
        return
    lines = ["# config group choices:"]
    for group, choice in spec.choices.items():
        shown = ", ".join(choice) if isinstance(choice, list) else choice
        lines.append(f"#   {group}: {shown}  ({origin.get(group, 'default')})")
    click.echo("\n".join(lines))
    click.echo(dump_yaml(spec.to_dict()), nl=False)
