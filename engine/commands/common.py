"""Options shared by the commands."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click

project_option = click.option(
    "-C", "--project", "project", default=".", show_default=True,
    type=click.Path(file_okay=False, path_type=str), help="The project directory (holds deploy.yaml).",
)
out_option = click.option(
    "--out", "out", default=None, type=click.Path(path_type=str),
    help="The build directory [default: <project>/build].",
)
overrides_argument = click.argument("overrides", nargs=-1, metavar="[OVERRIDES]...")
quiet_option = click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print a machine-readable JSON result.")


def common(func: Callable[..., Any]) -> Callable[..., Any]:
    for deco in reversed((project_option, overrides_argument)):
        func = deco(func)
    return func


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=True) + "\n")
