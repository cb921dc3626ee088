"""``mlready plan``"""

from __future__ import annotations

import click
from mlready.engine.commands.common import common, emit_json, json_option


@click.command("plan")
@common
@json_option
def command(project: str, overrides: tuple[str, ...], as_json: bool) -> None:
    """Show the steps, their dependencies and whether each is cached, without running anything."""
    from mlready.engine import api
    from mlready.engine.manifest import CacheState

    spec, plan, cached = api.plan_build(project, list(overrides))
    rows = [
        {"id": p.step.id, "generator": p.generator, "deps": list(p.step.deps), "reads": list(p.step.reads),
         "key": p.key,
         "cache": CacheState.HIT if cached[p.step.id] else CacheState.MISS, "description": p.step.description}
        for p in plan.steps
    ]
    if as_json:
        emit_json({"project": spec.project.name, "steps": rows})
        return
    width = max((len(r["id"]) for r in rows), default=4)
    click.echo(f"{'step':<{width}}  cache  key           depends on")
    for r in rows:
        deps = ", ".join(r["deps"]) or "-"
        click.echo(f"{r['id']:<{width}}  {r['cache']:<5}  {r['key'][:12]}  {deps}")
    misses = sum(r["cache"] == CacheState.MISS for r in rows)
    click.echo(f"{len(rows)} steps, {misses} to run")
