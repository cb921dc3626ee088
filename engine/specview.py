"""What a running step sees of the spec: only the paths its key covers.

A step declares the spec paths it reads (``Step.reads``; its generator's own section always). Its cache key
covers those subtrees in full (:func:`reads_digest`), and while its body runs ``ctx.spec`` is a
:class:`SpecView` that raises a :class:`~mlready.engine.errors.StepError` naming the step and the path on any
other read — the way ``ctx.upstream`` and ``ctx.render`` raise on undeclared dependencies and templates. So
a step cannot depend on a value its key does not cover: forgetting a declaration fails loudly on the first
build that reads it, instead of serving stale output later.

Paths are dotted spec paths: a section (``serving``, ``target.docker``), a key inside one (``model.name``,
``data.eval``), or the composition record ``overrides`` / ``choices``. Declaring ``data.eval`` gives
``spec.data`` as a partial view whose only readable key is ``eval``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlready.engine.errors import StepError

if TYPE_CHECKING:
    from mlready.engine.spec import Spec

#: the composition record: readable when declared
RECORD = ("overrides", "choices")


def covers(reads: tuple[str, ...], path: str) -> bool:
    """Whether reading ``path`` is declared: ``path`` is a declared path or inside one."""
    return any(path == r or path.startswith(r + ".") for r in reads)


def _partially_covers(reads: tuple[str, ...], path: str) -> bool:
    return any(r.startswith(path + ".") for r in reads)


def normalise(reads: tuple[str, ...]) -> tuple[str, ...]:
    """Sorted, without paths another declared path already covers."""
    unique = sorted(set(reads))
    return tuple(r for r in unique if not any(r != o and r.startswith(o + ".") for o in unique))


def lookup(spec: Spec, path: str) -> Any:
    """The value at ``path`` in the full spec (None where no installed generator owns it)."""
    head, _, rest = path.partition(".")
    node: Any = getattr(spec, head) if head in RECORD else spec.optional_section(head)
    for part in rest.split(".") if rest else ():
        node = node.get(part) if isinstance(node, dict) else getattr(node, part, None)
    return node


def reads_digest(spec: Spec, reads: tuple[str, ...]) -> dict[str, Any]:
    """The key material of the declared paths: each subtree in full, JSON-able."""
    from mlready.engine.plugin import config_digest

    return {path: config_digest(lookup(spec, path)) for path in normalise(reads)}


class _Gate:
    """Common part of the spec view and its partial nodes: attribute reads checked against ``reads``."""

    _target: Any
    _prefix: str
    _reads: tuple[str, ...]
    _step_id: str

    def __init__(self, target: Any, prefix: str, reads: tuple[str, ...], step_id: str):
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_prefix", prefix)
        object.__setattr__(self, "_reads", reads)
        object.__setattr__(self, "_step_id", step_id)

    def _path(self, name: str) -> str:
        return f"{self._prefix}.{name}" if self._prefix else name

    def _denied(self, path: str) -> StepError:
        declared = ", ".join(self._reads)
        return StepError(
            f"step {self._step_id} reads spec path {path!r} without declaring it in reads "
            f"(declared: {declared}); add it to the Step's reads, or pass the value in its config"
        )

    def _child(self, name: str) -> Any:
        """The node ``name`` under this one: checked first, then fetched (so that even whether an optional
        section exists is only known to a step that declared it)."""
        path = self._path(name)
        if covers(self._reads, path):
            return self._fetch(name)
        if _partially_covers(self._reads, path):
            return _Partial(self._fetch(name), path, self._reads, self._step_id)
        raise self._denied(path)

    def _fetch(self, name: str) -> Any:
        return getattr(self._target, name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"the spec is read-only ({name})")


class _Partial(_Gate):
    """A spec node of which only some keys are declared."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._child(name)

    def __repr__(self) -> str:
        return f"<spec {self._prefix} (partial view)>"


class SpecView(_Gate):
    """The spec as a step body sees it (same interface as :class:`~mlready.engine.spec.Spec`)."""

    def __init__(self, spec: Spec, reads: tuple[str, ...], step_id: str):
        super().__init__(spec, "", normalise(reads), step_id)

    @property
    def project_dir(self) -> Path:
        spec: Spec = self._target
        return spec.project_dir

    def resolve(self, path: str | Path) -> Path:
        spec: Spec = self._target
        return spec.resolve(path)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._child(name)

    def _fetch(self, name: str) -> Any:
        return getattr(self._target, name) if name in RECORD else self._target.section(name)

    def section(self, path: str) -> Any:
        node: Any = self
        for part in path.split("."):
            node = getattr(node, part)
        return node

    def optional_section(self, path: str) -> Any | None:
        if not (covers(self._reads, path) or _partially_covers(self._reads, path)):
            raise self._denied(path)
        return None if self._target.optional_section(path) is None else self.section(path)

    @property
    def model_name(self) -> str:
        name: str | None = self.model.name
        return name or self.project.name

    def to_dict(self) -> dict[str, Any]:
        raise self._denied("(the whole spec)")

    def __repr__(self) -> str:
        return f"<spec as step {self._step_id} sees it: {', '.join(self._reads)}>"
