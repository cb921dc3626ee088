"""The served model's input signature against the one the spec declares (``model.inputs``).

Names, datatypes and shapes must agree; ``-1`` in the spec means a dynamic dimension, which the served
model must also have (a fixed batch size would break the server's request batching).
"""

from __future__ import annotations

from typing import Any


def _dims(shape: list[int]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def signature_problems(declared: list[dict[str, Any]] | None, served: list[dict[str, Any]]) -> list[str]:
    """Differences between ``model.inputs`` and the served inputs; empty when they agree or none is declared."""
    if not declared:
        return []
    problems = []
    if [d["name"] for d in declared] != [s["name"] for s in served]:
        problems.append(
            f"input names: model.inputs declares {[d['name'] for d in declared]}, "
            f"the served model has {[s['name'] for s in served]}"
        )
        return problems
    for i, (d, s) in enumerate(zip(declared, served, strict=True)):
        if d["datatype"] != s["datatype"]:
            problems.append(
                f"model.inputs[{i}] {d['name']!r}: datatype {d['datatype']}, served {s['datatype']}"
            )
        if len(d["shape"]) != len(s["shape"]) or any(
            a != b for a, b in zip(d["shape"], s["shape"], strict=True)
        ):
            problems.append(
                f"model.inputs[{i}] {d['name']!r}: shape {_dims(d['shape'])}, served {_dims(s['shape'])}"
            )
    return problems


def fixed_batch_notes(served: list[dict[str, Any]]) -> list[str]:
    return [
        f"input {s['name']!r} has a fixed batch dimension ({_dims(s['shape'])}); the server cannot batch requests"
        for s in served
        if s.get("shape") and s["shape"][0] != -1
    ]
