"""``mlready generators``"""

from __future__ import annotations

import click


@click.command("generators")
def command() -> None:
    """List the installed generators, the group that enables each, their config section, the config groups
    and the model formats."""
    from pathlib import Path

    from mlready.engine import formats
    from mlready.engine.groups import available_groups, switches
    from mlready.engine.registry import generators

    gens = generators()
    groups = available_groups(Path.cwd(), switches(gens))
    for gen in gens:
        how = f"+{gen.group}={gen.section.rsplit('.', 1)[-1]}" if gen.group else "always on"
        click.echo(f"{gen.name:<12} {how:<22} section {gen.section:<18} {gen.description}")
    click.echo("\nconfig groups: " + "; ".join(f"{g}: {', '.join(o)}" for g, o in groups.items()))
    click.echo("model formats: " + ", ".join(
        f"{f.name} ({' '.join(f.suffixes) or (f'a directory with {f.markers[0]}' if f.markers else 'no file')})"
        for f in formats.formats().values()))
