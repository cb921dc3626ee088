"""``mlready generators``"""

from __future__ import annotations

import click


@click.command("generators")
def command() -> None:
    """List the installed generators, the group that enables each and their config section."""
    from pathlib import Path

    from mlready.engine.compose import available_groups
    from mlready.engine.registry import generators

    groups = available_groups(Path.cwd())
    for gen in generators():
        how = f"+{gen.group}={gen.name}" if gen.group else "always on"
        click.echo(f"{gen.name:<12} {how:<22} section {gen.section:<18} {gen.description}")
    click.echo("\nconfig groups: " + "; ".join(f"{g}: {', '.join(o)}" for g, o in groups.items()))
