"""``mlready image``: build the project, then build, smoke-test (and optionally push) its Docker image."""

from __future__ import annotations

import click
from mlready.engine.commands.common import common, emit_json, json_option, out_option, quiet_option


@click.command("image")
@common
@out_option
@click.option("--push", is_flag=True,
              help="Push [registry/]name:version after the smoke test; credentials from MLREADY_REGISTRY_USER "
                   "and MLREADY_REGISTRY_PASSWORD (or the engine's own login).")
@click.option("--no-smoke", is_flag=True, help="Skip running the container and the test prediction.")
@click.option("--no-cache", is_flag=True, help="Rebuild every image layer.")
@quiet_option
@json_option
def command(project: str, overrides: tuple[str, ...], out: str | None, push: bool, no_smoke: bool,
            no_cache: bool, quiet: bool, as_json: bool) -> None:
    """Build the project, then its image through the Docker Engine API (DOCKER_HOST; Podman's API works).

    An existing build is built on, not replaced: its overrides (optimize=auto, +target=k8s, ...) are kept and
    OVERRIDES added, so no artifact the user built is dropped; a container engine is checked for first.

    \b
    The image is tagged name:version, recorded in build/manifest.json ("image") and .mlready/image.json,
    then run non-root with a read-only root filesystem for one prediction checked against onnxruntime.
    Examples:
      mlready image +target=docker
      mlready image -C examples/quickstart +target=docker env=prod --push
    """
    from mlready.engine import api
    from mlready.engine.progress import library_warnings, reporter_for, warning_summary

    with library_warnings() as caught:
        report = api.image(project, list(overrides), push=push, smoke=not no_smoke, no_cache=no_cache, out=out,
                           reporter=reporter_for(quiet, as_json))
    if not (quiet or as_json):
        for line in warning_summary(caught):
            click.echo(line, err=True)
    if as_json:
        emit_json({"ok": True, **report.to_dict()})
        return
    if quiet:
        return
    mb = 1e6
    size = report.size
    click.echo(f"image {report.ref}  id {report.id[:19]}  digest {report.digest or '-'}")
    click.echo(f"  from the build with {' '.join(report.overrides) or 'no overrides'}")
    click.echo(f"  build {report.build_seconds:.1f}s, {report.cached_steps}/{report.steps} steps from cache")
    added = (f", {size.added / mb:.1f} MB added to the base (largest layer {(size.largest_added_layer or 0) / mb:.1f} MB)"
             if size.added is not None else "")
    click.echo(f"  size {size.total / mb:.1f} MB{added}")
    if report.smoke:
        s = report.smoke
        click.echo(f"  smoke: ready in {s.cold_start_s:.2f}s (read-only, non-root); {s.rows} rows match "
                   f"onnxruntime on {', '.join(s.outputs)} (max |diff| {s.max_abs_diff:.2g})")
    if report.pushed:
        click.echo(f"  pushed {report.ref}@{report.digest}")
    for line in report.notes:
        click.echo(line)
