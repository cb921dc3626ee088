"""``mlready deploy``: apply the built Kubernetes bundle to the current kube context."""

from __future__ import annotations

from pathlib import Path

import click
from mlready.engine.commands.common import emit_json, json_option, out_option, project_option


@click.command("deploy")
@project_option
@out_option
@click.option("--env", "env", default=None, type=click.Choice(["dev", "staging", "prod"]),
              help="Overlay to apply [default: the env the build was made for].")
@click.option("--context", default=None, help="Kube context [default: the current one].")
@click.option("--dry-run", "dry_run", is_flag=True, help="Server-side dry run: validated and admitted, not stored.")
@click.option("--no-wait", "no_wait", is_flag=True, help="Do not wait for the rollout.")
@click.option("--no-prune", "no_prune", is_flag=True,
              help="Keep this app's Deployments that the bundle no longer has (e.g. <name>-canary).")
@click.option("--timeout", default=600.0, show_default=True, type=float, help="Seconds to wait for the rollout.")
@json_option
def command(project: str, out: str | None, env: str | None, context: str | None, dry_run: bool, no_wait: bool,
            no_prune: bool, timeout: float, as_json: bool) -> None:
    """Server-side apply build/k8s/overlays/<env> (field manager mlready) and wait for the rollout.

    \b
    Examples:
      mlready build +target=k8s env=prod && mlready deploy --dry-run
      mlready deploy --env staging --context staging-cluster
    """
    from mlready.engine import api

    build_dir = Path(out) if out else Path(project) / "build"
    result = api.deploy(build_dir, env, context=context, dry_run=dry_run, wait=not no_wait, timeout=timeout,
                        prune=not no_prune)
    env = result.env
    if as_json:
        emit_json({"env": env, "dry_run": dry_run,
                   "applied": [{"kind": a.kind, "name": a.name, "namespace": a.namespace} for a in result.applied],
                   "pruned": result.pruned,
                   "rollouts": [{"name": r.name, "namespace": r.namespace, "ready": r.ready,
                                 "revision": r.revision, "message": r.message} for r in result.rollouts]})
        return
    verb = "validated (dry run)" if dry_run else "applied"
    for a in result.applied:
        click.echo(f"  {verb:20} {a.kind}/{a.name} in {a.namespace or '-'}")
    for stale in result.pruned:
        click.echo(f"  {'pruned (dry run)' if dry_run else 'pruned':20} Deployment {stale}")
    for r in result.rollouts:
        click.echo(f"  rollout {r.namespace}/{r.name}: {r.message} (revision {r.revision})")
