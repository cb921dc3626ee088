"""Validation of an InferenceService against the CRD's OpenAPI schema (kept as data, see derive_schema)."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

SCHEMA_FILE = "inferenceservice-v1beta1.schema.json"


@cache
def schema() -> dict[str, Any]:
    return json.loads(files("mlready.generators.kserve").joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))


def problems(doc: Any) -> list[str]:
    """Every schema violation as 'path: message' (empty when the document is valid)."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema())
    out = []
    for err in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        path = ".".join(str(p) for p in err.absolute_path) or "(root)"
        out.append(f"{path}: {err.message}")
    return out
