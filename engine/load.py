"""compose -> validate -> typed Spec. The one entry point the rest of the engine uses to read a spec."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlready.engine import registry
from mlready.engine.compose import Composition, compose
from mlready.engine.groups import switches
from mlready.engine.plugin import Generator
from mlready.engine.spec import Spec, defaults_dict
from mlready.engine.validate import validate


def load_spec(
    project_dir: Path, overrides: list[str] | None = None, generators: list[Generator[Any]] | None = None
) -> tuple[Spec, Composition]:
    gens = list(generators if generators is not None else registry.generators())
    project_dir = Path(project_dir).resolve()
    from mlready.engine.api import cache_dir

    comp = compose(project_dir, list(overrides or []), defaults_dict(gens), cache=cache_dir(project_dir) / "compose",
                   switches=switches(gens))
    spec = validate(comp, gens, project_dir)
    return spec, comp
