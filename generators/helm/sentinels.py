"""Chart values through the k8s builders: a builder is run on spec sections whose fields hold sentinels, and
each sentinel found in its output becomes a :class:`~mlready.generators.helm.holes.Hole` for the chart value
of the same name.

The builder runs twice, on two sets of sentinels. A leaf equal in both runs is literal; a leaf holding the
same field's sentinel in both becomes that field's hole (a builder may convert a value: ``int(float(x))``,
``str(x)``); any other difference means the builder computed something from a value (``2 * x``, a value
inside a longer string), which no single chart value can stand for: refused, naming the leaf.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlready.generators.helm.holes import Hole


class Sentinels:
    """Sections of sentinel values (``section``) and the hole each sentinel stands for (``hole``)."""

    def __init__(self, base: int, tag: str):
        self.base, self.tag = base, tag
        self._holes: dict[Any, Hole] = {}

    def section(self, model: Any, prefix: str, **when: str) -> Any:
        """An instance of ``model`` (unvalidated) whose int and str fields are sentinels; ``when`` names the
        fields whose key is written only while that template pipeline is true."""
        fields = {}
        for name, info in model.model_fields.items():
            if info.annotation is bool:  # a builder branches on flags: keep the default
                continue
            n = len(self._holes)
            value: Any = self.base + n if info.annotation is int else f"mlready-value-{self.tag}{n:04d}"
            self._holes[value] = Hole(f"{prefix}.{name}", when=when.get(name))
            fields[name] = value
        return model.model_construct(**fields)

    def hole(self, leaf: Any) -> Hole | None:
        if isinstance(leaf, bool) or not isinstance(leaf, int | float | str):
            return None
        if isinstance(leaf, str) and leaf.isdigit():
            leaf = int(leaf)
        return self._holes.get(leaf)


def _merge(x: Any, y: Any, a: Sentinels, b: Sentinels, where: str) -> Any:
    if isinstance(x, dict) and isinstance(y, dict):
        if list(x) != list(y):
            raise ValueError(f"{where or 'the object'}: a chart value changed the object's keys")
        return {k: _merge(x[k], y[k], a, b, f"{where}.{k}".lstrip(".")) for k in x}
    if isinstance(x, list) and isinstance(y, list):
        if len(x) != len(y):
            raise ValueError(f"{where}: a chart value changed the length of a list")
        return [_merge(u, v, a, b, f"{where}[{i}]") for i, (u, v) in enumerate(zip(x, y, strict=True))]
    if type(x) is type(y) and x == y:
        return x
    hole = a.hole(x)
    if hole is not None and hole == b.hole(y):
        return hole
    raise ValueError(f"{where}: a k8s builder computed {x!r} from a chart value; only a value itself can be one")


def templated(build: Callable[[Sentinels], Any]) -> Any:
    """``build(sentinels)``'s output with a hole wherever a section field's value landed."""
    a, b = Sentinels(970_000_000, "a"), Sentinels(980_000_000, "b")
    return _merge(build(a), build(b), a, b, "")
