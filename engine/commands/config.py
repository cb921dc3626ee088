"""``mlready config``: the composed spec, each value with where it came from; sections that are off are hidden
unless ``--all``."""

from __future__ import annotations

from typing import Any

import click
from mlready.engine.commands.common import common, emit_json, json_option

DEFAULT = "default"


def origin_of(key: str, where: dict[str, str], switched: dict[str, str]) -> str:
    """Where ``key`` was set: a file and line (deploy.yaml, a group's option file), an override, the switch
    that turned its section on, or the default. A parent mapping replaced by an override covers its keys."""
    if key in where:
        return where[key]
    if key in switched:
        return switched[key]
    probe = key.rpartition(".")[0]
    while probe:
        if where.get(probe, "").startswith("override "):
            return where[probe]
        probe = probe.rpartition(".")[0]
    return DEFAULT


def hidden_sections(spec: Any, gens: list[Any]) -> list[str]:
    """The sections of switchable generators (targets, CI systems, monitoring, pipelines) that are off."""
    return sorted(g.section for g in gens if g.group is not None and spec.optional_section(g.section) is not None
                  and not g.enabled(spec))


def _drop(tree: dict[str, Any], path: str) -> None:
    head, _, rest = path.partition(".")
    if head not in tree:
        return
    if not rest:
        del tree[head]
        return
    if isinstance(tree[head], dict):
        _drop(tree[head], rest)
        if not tree[head]:
            del tree[head]


def _scalar(value: Any) -> str:
    import yaml

    return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1 << 20).strip().removesuffix(
        "\n...").removesuffix("...").strip()


def render(tree: dict[str, Any], origin: Any, prefix: str = "", indent: int = 0) -> list[str]:
    """YAML lines, each leaf followed by ``# <origin>`` (lists and empty mappings are written inline)."""
    lines = []
    pad = "  " * indent
    for name, value in tree.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict) and value:
            lines.append(f"{pad}{name}:")
            lines += render(value, origin, f"{key}.", indent + 1)
        else:
            lines.append(f"{pad}{name}: {_scalar(value)}  # {origin(key)}")
    return lines


@click.command("config")
@common
@json_option
@click.option("--all", "show_all", is_flag=True, help="Also show the sections that are off (targets, CI systems, "
              "monitoring, pipelines not switched on).")
def command(project: str, overrides: tuple[str, ...], as_json: bool, show_all: bool) -> None:
    """Print the composed, validated spec as YAML, each value with where it came from (deploy.yaml line, a
    group's option file, an override, the switch that turned its section on, or the default). Sections that
    are off are left out unless --all.

    \b
    Examples:
      mlready config -C examples/quickstart env=prod +target=k8s
      mlready config -C examples/quickstart --all
    """
    from pathlib import Path

    from mlready.engine import registry
    from mlready.engine.load import load_spec

    gens = list(registry.generators())
    spec, comp = load_spec(Path(project), list(overrides))
    origin = {group: comp.choice_origin.get(group, "default") for group in comp.choices}
    where = comp.sources.recorded()
    switched = {f"{g.section}.enabled": origin.get(g.group, DEFAULT) for g in gens
                if g.group is not None and spec.optional_section(g.section) is not None and g.enabled(spec)}
    hidden = [] if show_all else hidden_sections(spec, gens)
    tree = spec.to_dict()
    for section in hidden:
        _drop(tree, section)

    def where_of(key: str) -> str:
        return origin_of(key, where, switched)

    if as_json:
        leaves: dict[str, str] = {}

        def walk(node: Any, prefix: str) -> None:
            for name, value in node.items():
                if isinstance(value, dict) and value:
                    walk(value, f"{prefix}{name}.")
                else:
                    leaves[f"{prefix}{name}"] = where_of(f"{prefix}{name}")

        walk(tree, "")
        emit_json({"spec": tree, "choices": spec.choices, "origin": origin, "where": leaves, "hidden": hidden})
        return
    lines = ["# config group choices:"]
    for group, choice in spec.choices.items():
        shown = ", ".join(choice) if isinstance(choice, list) else choice
        lines.append(f"#   {group}: {shown}  ({origin.get(group, 'default')})")
    if hidden:
        lines.append(f"# {len(hidden)} sections are off and not shown (--all shows them): {', '.join(hidden)}")
    lines.append("# each value: where it was set (file:line, override, switch) or 'default'")
    click.echo("\n".join(lines))
    click.echo("---")
    click.echo("\n".join(render(tree, where_of)))
