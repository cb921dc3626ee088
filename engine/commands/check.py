"""``mlready check``"""

from __future__ import annotations

import click
from mlready.engine.commands.common import common, emit_json, json_option, out_option


@click.command("check")
@common
@out_option
@click.option("--no-diff", is_flag=True, help="List the drifted files without their diffs.")
@json_option
def command(project: str, overrides: tuple[str, ...], out: str | None, no_diff: bool, as_json: bool) -> None:
    """Regenerate in memory (every step runs: the cache is not trusted) and report files in the build dir
    that differ or were edited by hand, each with a unified diff (build dir -> what `mlready build` writes
    now) and, for stale output, why: the spec, the model or data files, or mlready's code changed.

    Without OVERRIDES, the overrides recorded in the build's manifest are used. Exit 1 on drift.
    """
    from mlready.engine import api

    drift, out_dir = api.check(project, list(overrides) or None, out=out)
    if as_json:
        emit_json({"ok": not drift, "drift": [{"path": d.path, "problem": d.problem, "diff": d.diff,
                                                "cause": d.cause} for d in drift]})
    elif drift:
        click.echo(f"{out_dir}: {len(drift)} file(s) drifted:", err=True)
        for d in drift:
            click.echo(f"  {d.path}: {d.problem}", err=True)
            if d.diff and not no_diff:
                click.echo("".join(f"    {line}" for line in d.diff.splitlines(keepends=True)), err=True, nl=False)
        for cause in dict.fromkeys(d.cause for d in drift if d.cause):  # the same for every stale file
            click.echo(f"why the generated files differ: {cause}", err=True)
    else:
        click.echo(f"{out_dir}: up to date")
    if drift:
        raise click.exceptions.Exit(1)
