"""Generator discovery through the ``mlready.generators`` entry-point group."""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from typing import Any, Protocol

from mlready.engine.errors import MlreadyError
from mlready.engine.plugin import Generator

ENTRY_POINT_GROUP = "mlready.generators"
HOOKS_GROUP = "mlready.hooks"


class PluginError(MlreadyError):
    exit_code = 1


class BuildHook(Protocol):
    """A post-build hook: called with the spec and the :class:`~mlready.engine.api.BuildResult`."""

    def after_build(self, spec: Any, result: Any) -> object: ...


@cache
def generators() -> tuple[Generator[Any], ...]:
    """Every installed generator, instantiated once, in name order."""
    found: dict[str, Generator[Any]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
        except Exception as exc:  # a broken plugin must say which one it is
            raise PluginError(f"generator plugin {ep.name!r} ({ep.value}) failed to load: {exc}") from exc
        if not (isinstance(cls, type) and issubclass(cls, Generator)):
            raise PluginError(f"generator plugin {ep.name!r} ({ep.value}) is not a mlready Generator class")
        gen = cls()
        if gen.name != ep.name:
            raise PluginError(f"generator plugin {ep.name!r} declares name {gen.name!r}; they must match")
        found[gen.name] = gen
    return tuple(found[name] for name in sorted(found))


@cache
def hooks() -> tuple[BuildHook, ...]:
    """Post-build hooks (objects with ``after_build(spec, result)``), in name order."""
    eps = sorted(entry_points(group=HOOKS_GROUP), key=lambda ep: ep.name)
    out: list[BuildHook] = []
    for ep in eps:
        try:
            obj = ep.load()
        except Exception as exc:
            raise PluginError(f"hook plugin {ep.name!r} ({ep.value}) failed to load: {exc}") from exc
        out.append(obj() if isinstance(obj, type) else obj)
    return tuple(out)
