"""The ``mlready`` command line.

Each sub-command lives in its own module under :mod:`mlready.engine.commands` and is imported only when it
runs, so ``mlready --help`` stays instant. A command module exposes a ``click.Command`` named ``command``; it
parses arguments, calls the programmatic API and lets :func:`main` map errors to exit codes.
"""

from __future__ import annotations

import importlib
import os
import sys
from functools import cache

import click

#: sub-command name -> (module, one-line help). Help text lives here so ``--help`` imports nothing else.
COMMANDS: dict[str, tuple[str, str]] = {
    "build": ("mlready.engine.commands.build", "Compose the spec, run the build graph, write the build dir."),
    "plan": ("mlready.engine.commands.plan", "Show the steps, their dependencies and cache state; run nothing."),
    "config": ("mlready.engine.commands.config", "Print the composed spec and where each group choice came from."),
    "validate": ("mlready.engine.commands.validate", "Check the spec only."),
    "check": ("mlready.engine.commands.check", "Regenerate in memory and report drift in the build dir."),
    "serve": ("mlready.engine.commands.serve", "Serve a project's built model (or a model repository)."),
    "score": ("mlready.engine.commands.score", "Score a CSV/Parquet table with the built model (or on Spark)."),
    "monitor": ("mlready.engine.commands.monitor", "Production metrics, drift and gates per time window (offline)."),
    "image": ("mlready.engine.commands.image", "Build, tag, smoke-test (and optionally push) the Docker image."),
    "deploy": ("mlready.engine.commands.deploy", "Apply the Kubernetes bundle to the current kube context."),
    "rollback": ("mlready.engine.commands.rollback", "Return a Kubernetes deployment to its previous revision."),
    "promote": ("mlready.engine.commands.promote", "Move an MLflow Model Registry alias to a model version."),
    "new": ("mlready.engine.commands.new", "Create a new mlready project from the cookiecutter template."),
    "schema": ("mlready.engine.commands.schema", "Print the JSON Schema of deploy.yaml (for editors)."),
    "generators": ("mlready.engine.commands.generators", "List the installed generators and their options."),
}


@cache
def _available() -> dict[str, tuple[str, str]]:
    """Commands whose module is present (a capability not yet installed is not advertised)."""
    from importlib.util import find_spec

    out = {}
    for name, (module, help_) in COMMANDS.items():
        try:
            if find_spec(module) is not None:
                out[name] = (module, help_)
        except ModuleNotFoundError:
            continue
    return out


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_available())

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = _available().get(cmd_name)
        if entry is None:
            return None
        command: click.Command = importlib.import_module(entry[0]).command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_) for name, (_, help_) in sorted(_available().items())]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mlready", prog_name="mlready")
def cli() -> None:
    """mlready: compile deploy.yaml into a checked model, image, manifests, pipelines and dashboards.

    \b
    Examples:
      mlready build +target=k8s
      mlready build "+target=[docker,k8s]" env=prod serving.replicas=3
      mlready build -C path/to/project +target=k8s --out dist/

    Exit codes: 0 success, 1 build failed, 2 spec or usage error.
    Set MLREADY_DEBUG=1 to see tracebacks.
    """


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and map mlready errors to exit codes."""
    from mlready.engine.errors import MlreadyError

    try:
        rv = cli.main(args=argv, prog_name="mlready", standalone_mode=False)
    except MlreadyError as exc:
        if os.environ.get("MLREADY_DEBUG"):
            raise
        click.echo(exc.render(), err=True)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return 2
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except KeyboardInterrupt:
        click.echo("Interrupted: the previous build output was left untouched.", err=True)
        return 130
    except Exception as exc:  # a bug: say so briefly; MLREADY_DEBUG=1 shows the traceback
        if os.environ.get("MLREADY_DEBUG"):
            raise
        first = str(exc).strip().split("\n")[0]
        click.echo(f"error: internal error: {type(exc).__name__}: {first}\n"
                   "  (set MLREADY_DEBUG=1 for the traceback, and please report it)", err=True)
        return 1
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
