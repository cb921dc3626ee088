"""Turn the spec and the reports into MLflow params and metrics (flat, bounded, no secrets)."""

from __future__ import annotations

import json
import math
import re
from typing import Any

#: keys whose values are never logged (the value is replaced by ``***``)
SECRET_KEY = re.compile(r"(password|passwd|secret|token|credential|api[_-]?key|private[_-]?key)", re.IGNORECASE)
REDACTED = "***"
PARAM_VALUE_MAX = 6000  # MLflow's limit for a param value
KEY_MAX = 250  # MLflow's limit for a param or metric key
_KEY_BAD = re.compile(r"[^A-Za-z0-9_\-./ ]")


def redact(tree: Any) -> Any:
    """A copy of ``tree`` with the values of secret-looking keys replaced."""
    if isinstance(tree, dict):
        return {k: (REDACTED if SECRET_KEY.search(str(k)) and v not in (None, "") else redact(v))
                for k, v in tree.items()}
    if isinstance(tree, list):
        return [redact(v) for v in tree]
    return tree


def safe_key(key: str) -> str:
    """An MLflow-legal key: letters, digits, ``_-./`` and spaces, at most 250 characters."""
    return _KEY_BAD.sub("_", key)[:KEY_MAX]


def flat_params(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Dotted keys -> string values; lists are JSON; secrets redacted; values cut to MLflow's limit."""
    out: dict[str, str] = {}
    for key, value in redact(tree).items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            for k, v in flat_params(value, dotted + ".").items():
                out.setdefault(k, v)
            continue
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        out.setdefault(safe_key(dotted), text[:PARAM_VALUE_MAX])  # first wins if two keys sanitize alike
    return dict(sorted(out.items()))


def numeric_leaves(tree: Any, prefix: str, limit: int = 500) -> dict[str, float]:
    """Finite numbers in nested dicts (not lists, not booleans) as ``prefix.a.b`` metrics."""
    out: dict[str, float] = {}

    def walk(node: Any, path: str) -> None:
        if len(out) >= limit:
            return
        if isinstance(node, dict):
            for k, v in sorted(node.items(), key=lambda kv: str(kv[0])):
                walk(v, f"{path}.{_KEY_BAD.sub('_', str(k))}")
        elif isinstance(node, int | float) and not isinstance(node, bool) and math.isfinite(node):
            out[path[:KEY_MAX]] = float(node)

    walk(tree, prefix)
    return out
