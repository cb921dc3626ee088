"""``mlready schema``"""

from __future__ import annotations

import click


@click.command("schema")
def command() -> None:
    """Print the JSON Schema of deploy.yaml (point your editor's YAML language server at it)."""
    from mlready.engine.commands.common import emit_json
    from mlready.engine.registry import generators
    from mlready.engine.spec import spec_model

    emit_json(spec_model(list(generators())).model_json_schema())
