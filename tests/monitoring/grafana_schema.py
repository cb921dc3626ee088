"""Validate a dashboard against Grafana's dashboard schema as pinned by grafana-foundation-sdk (generated from
Grafana's own CUE kinds for one Grafana version).

The SDK ships typed models, not a JSON schema file, so validation is: decode with the SDK's strict-typed model,
then (1) encoding it back must keep every key and value we wrote (a key the schema does not know is dropped by
the decoder), and (2) every decoded attribute must have the type the model declares for it.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from importlib.metadata import version
from typing import Any

GRAFANA_VERSION = "11.6"


def sdk_grafana_version() -> str:
    return version("grafana-foundation-sdk").split("!")[-1]


def _lost(a: Any, b: Any, path: str, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k, v in a.items():
            if k not in b:
                out.append(f"{path}.{k}: not in the Grafana {GRAFANA_VERSION} dashboard schema")
            else:
                _lost(v, b[k], f"{path}.{k}", out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _lost(x, y, f"{path}[{i}]", out)
    elif a != b:
        out.append(f"{path}: {a!r} became {b!r}")


def _matches(value: Any, hint: Any) -> bool:
    if hint in (Any, object) or isinstance(hint, typing.TypeVar):
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, h) for h in typing.get_args(hint))
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        return isinstance(value, list) and all(_matches(v, item) for v in value)
    if origin is dict:
        k, v = typing.get_args(hint) or (Any, Any)
        return isinstance(value, dict) and all(_matches(a, k) and _matches(b, v) for a, b in value.items())
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):  # the decoder keeps the raw value
        return isinstance(value, hint) or value in {e.value for e in hint}
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True  # an unresolved forward reference: the decoder already chose the class


def _types(obj: Any, path: str, out: list[str], seen: set[int]) -> None:
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, list):
        for i, v in enumerate(obj):
            _types(v, f"{path}[{i}]", out, seen)
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            _types(v, f"{path}.{k}", out, seen)
        return
    if not type(obj).__module__.startswith("grafana_foundation_sdk") or isinstance(obj, enum.Enum):
        return
    import sys

    hints = typing.get_type_hints(type(obj), globalns=vars(sys.modules[type(obj).__module__]))
    for name, hint in hints.items():
        value = getattr(obj, name, None)
        if value is not None and not _matches(value, hint):
            out.append(f"{path}.{name}: {value!r} is not {hint}")
        _types(value, f"{path}.{name}", out, seen)


def dashboard_problems(doc: dict[str, Any]) -> list[str]:
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.cog.plugins import register_default_plugins
    from grafana_foundation_sdk.models.dashboard import Dashboard

    register_default_plugins()
    decoded = Dashboard.from_json(doc)
    back = json.loads(json.dumps(decoded, cls=JSONEncoder))
    out: list[str] = []
    _lost(doc, back, "dashboard", out)
    _types(decoded, "dashboard", out, set())
    return out
