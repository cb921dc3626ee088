"""``mlready serve``: run the model server on a project's built model, or on a model repository."""

from __future__ import annotations

import click
from mlready.engine.commands.common import out_option, project_option


@click.command("serve")
@project_option
@out_option
@click.option("--model-repository", type=click.Path(path_type=str), default=None,
              help="Serve this model repository (<repo>/<model>/<version>/model.onnx) instead of a build.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="A runtime config JSON (kind runtime-config).")
@click.option("--host", default=None, help="Address to bind [default: 127.0.0.1].")
@click.option("--http-port", type=click.IntRange(0, 65535), default=None, help="[default: 8080]")
@click.option("--grpc-port", type=click.IntRange(0, 65535), default=None, help="[default: 8081]")
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=None, help="A separate metrics port.")
def command(project: str, out: str | None, model_repository: str | None, config_file: str | None,
            host: str | None, http_port: int | None, grpc_port: int | None, metrics_port: int | None) -> None:
    """Serve a project's built model (or a model repository) on HTTP and gRPC.

    \b
    Examples:
      mlready serve -C examples/quickstart
      mlready serve --model-repository models/ --http-port 8500 --grpc-port 8501
    """
    from mlready.engine import api

    code = api.serve(project, out, model_repository, config_file, host, http_port, grpc_port, metrics_port)
    if code:
        raise click.exceptions.Exit(code)
