"""``mlready build``"""

from __future__ import annotations

from typing import Any

import click
from mlready.engine.commands.common import common, emit_json, json_option, out_option, quiet_option


@click.command("build")
@common
@out_option
@click.option("--no-cache", is_flag=True, help="Run every step even when its key is cached.")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=None, help="Steps to run at once.")
@click.option("--wait-tracking", is_flag=True,
              help="Record the MLflow run before returning (and print its registry version) instead of in the "
                   "background.")
@quiet_option
@json_option
def command(project: str, overrides: tuple[str, ...], out: str | None, no_cache: bool, jobs: int | None,
            wait_tracking: bool, quiet: bool, as_json: bool) -> None:
    """Compose the spec, run the build graph and write the build dir.

    \b
    OVERRIDES are Hydra overrides:
      +target=k8s  "+target=[docker,k8s]"  env=prod  optimize=auto  serving.replicas=3

    Files in the build dir that were edited by hand or not written by mlready are moved to
    <project>/.mlready/kept/<time>/ and listed (also with --quiet: they are your work). The MLflow run is
    recorded by a background process once the build dir is written (its failure is reported by the next
    build); --wait-tracking records it first.
    """
    from mlready.engine import api
    from mlready.engine.errors import BuildFailed
    from mlready.engine.progress import library_warnings, reporter_for, warning_summary

    caught: list[Any] = []
    try:
        with library_warnings() as caught:
            result = api.build(project, list(overrides), out=out, reporter=reporter_for(quiet, as_json),
                               jobs=jobs, use_cache=not no_cache, detach_hooks=not wait_tracking)
    except BuildFailed as exc:
        if as_json:
            emit_json({"ok": False, "error": str(exc), "failed": exc.failed, "warnings": warning_summary(caught)})
        elif not quiet:
            _echo_err(warning_summary(caught))
        raise
    # what concerns the user's own work is said even with --quiet: files moved aside, a run not recorded
    alerts = [n for n in result.notes if n.startswith("warning:")]
    _echo_err(result.kept.lines(result.out_dir) + alerts)
    if as_json:
        emit_json({"ok": True, "out": str(result.out_dir), "warnings": warning_summary(caught),
                   "kept": {"dir": str(result.kept.dir) if result.kept else None, "edited": result.kept.edited,
                            "extra": result.kept.extra},
                   **result.manifest.model_dump(mode="json", exclude_none=True)})
        return
    if quiet:
        return
    from mlready.engine.manifest import CacheState
    from mlready.engine.verdicts import verdict_lines

    _echo_err(warning_summary(caught))
    hits = sum(r.cache == CacheState.HIT for r in result.records)
    n_art = len(result.manifest.artifacts)
    click.echo(f"built {result.spec.project.name}: {len(result.records)} steps ({hits} cached), "
               f"{n_art} artifacts -> {result.out_dir}")
    for line in verdict_lines(result.out_dir, result.manifest) + [n for n in result.notes if n not in alerts]:
        click.echo(line)


def _echo_err(lines: list[str]) -> None:
    for line in lines:
        click.echo(line, err=True)
