"""``mlready rollback``: return a Deployment to its previous revision (like `kubectl rollout undo`)."""

from __future__ import annotations

import click
from mlready.engine.commands.common import emit_json, json_option


@click.command("rollback")
@click.argument("name")
@click.option("-n", "--namespace", required=True, help="Namespace of the Deployment.")
@click.option("--context", default=None, help="Kube context [default: the current one].")
@click.option("--no-wait", "no_wait", is_flag=True, help="Do not wait for the rollout.")
@click.option("--timeout", default=600.0, show_default=True, type=float, help="Seconds to wait for the rollout.")
@json_option
def command(name: str, namespace: str, context: str | None, no_wait: bool, timeout: float, as_json: bool) -> None:
    """Roll Deployment NAME back to the previous revision and wait for it.

    \b
    Example:
      mlready rollback churn-model -n churn-model-prod
    """
    from mlready.engine import api

    status = api.rollback(name, namespace, context=context, wait=not no_wait, timeout=timeout)
    if as_json:
        emit_json({"name": status.name, "namespace": status.namespace, "ready": status.ready,
                   "revision": status.revision, "message": status.message})
    else:
        click.echo(f"rollback {namespace}/{name}: {status.message} (revision {status.revision})")
