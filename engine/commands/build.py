"""``mlready build``"""

from __future__ import annotations

import click
from mlready.engine.commands.common import common, emit_json, json_option, out_option, quiet_option


@click.command("build")
@common
@out_option
@click.option("--no-cache", is_flag=True, help="Run every step even when its key is cached.")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=None, help="Steps to run at once.")
@quiet_option
@json_option
def command(project: str, overrides: tuple[str, ...], out: str | None, no_cache: bool, jobs: int | None,
            quiet: bool, as_json: bool) -> None:
    """Compose the spec, run the build graph and write the build dir.

    \b
    OVERRIDES are Hydra overrides:
      +target=k8s  "+target=[docker,k8s]"  env=prod  optimize=auto  serving.replicas=3
    """
    from mlready.engine import api
    from mlready.engine.errors import BuildFailed
    from mlready.engine.progress import reporter_for

    try:
        result = api.build(project, list(overrides), out=out, reporter=reporter_for(quiet, as_json),
                           jobs=jobs, use_cache=not no_cache)
    except BuildFailed as exc:
        if as_json:
            emit_json({"ok": False, "error": str(exc), "failed": exc.failed})
        raise
    if as_json:
        emit_json({"ok": True, "out": str(result.out_dir),
                   **result.manifest.model_dump(mode="json", exclude_none=True)})
        return
    if not quiet:
        from mlready.engine.manifest import CacheState

        hits = sum(r.cache == CacheState.HIT for r in result.records)
        n_art = len(result.manifest.artifacts)
        click.echo(f"built {result.spec.project.name}: {len(result.records)} steps ({hits} cached), "
                   f"{n_art} artifacts -> {result.out_dir}")
