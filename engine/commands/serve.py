"""``mlready serve``: run the model server on a project's built model, or on a model repository."""

from __future__ import annotations

from typing import Any

import click
from mlready.engine.commands.common import out_option, project_option


class PortOrOff(click.ParamType[int | str, Any]):
    """A port number 0-65535 (0: any free port, reported once bound) or ``off``."""

    name = "PORT|off"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int | str:
        if isinstance(value, int) or str(value).strip().lower() != "off":
            return int(click.IntRange(0, 65535).convert(value, param, ctx))
        return "off"


@click.command("serve")
@project_option
@out_option
@click.option("--model-repository", type=click.Path(path_type=str), default=None,
              help="Serve this model repository (<repo>/<model>/<version>/model.onnx) instead of a build.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="A runtime config JSON (kind runtime-config).")
@click.option("--host", default=None, help="Address to bind [default: 127.0.0.1].")
@click.option("--http-port", type=click.IntRange(0, 65535), default=None,
              help="[default: 8080; 0 = any free port, printed once bound]")
@click.option("--grpc-port", type=PortOrOff(), default=None,
              help="[default: 8081; 0 = any free port; off = REST only]")
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=None, help="A separate metrics port.")
@click.option("--watch", is_flag=True,
              help="Serve every rebuild as soon as it is written (default: the build at start, as a snapshot).")
def command(project: str, out: str | None, model_repository: str | None, config_file: str | None,
            host: str | None, http_port: int | None, grpc_port: int | str | None, metrics_port: int | None,
            watch: bool) -> None:
    """Serve a project's built model (or a model repository) on HTTP and gRPC.

    The ports are bound before anything is printed; a taken port is an error naming the flag that picks
    another. The build is served as a snapshot unless --watch. Logs are human-readable on a terminal and
    JSON lines otherwise.

    \b
    Examples:
      mlready serve -C examples/quickstart
      mlready serve -C examples/quickstart --watch --http-port 0 --grpc-port off
      mlready serve --model-repository models/ --http-port 8500 --grpc-port 8501
    """
    from mlready.engine import api

    code = api.serve(project, out, model_repository, config_file, host, http_port,
                     grpc_port if isinstance(grpc_port, int) else None, metrics_port, grpc_off=grpc_port == "off",
                     watch=watch)
    if code:
        raise click.exceptions.Exit(code)
