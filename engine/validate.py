"""Validate a composed config against the typed spec; turn every error into a located, readable problem."""

from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path
from typing import Any

from mlready.engine.compose import Composition
from mlready.engine.errors import SpecError, SpecProblem
from mlready.engine.plugin import Generator
from mlready.engine.spec import Spec, spec_model
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails


def _got(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    return repr(value)


def _message(err: ErrorDetails, model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        siblings = _sibling_fields(model, loc[:-1])
        hint = difflib.get_close_matches(str(loc[-1]), siblings, n=1)
        if hint:
            return f"unknown key (did you mean '{hint[0]}'?)"
        return f"unknown key; valid keys here: {', '.join(siblings)}" if siblings else "unknown key"
    if kind == "missing":
        return "required value is missing"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"expected an integer, got {_got(value)}"
    if kind in ("float_type", "float_parsing"):
        return f"expected a number, got {_got(value)}"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false, got {_got(value)}"
    if kind in ("string_type",):
        return f"expected a string, got {_got(value)}"
    if kind in ("list_type", "tuple_type"):
        return f"expected a list, got {_got(value)}"
    if kind in ("dict_type", "model_type", "model_attributes_type", "dataclass_type"):
        return f"expected a mapping, got {_got(value)}"
    if kind == "literal_error":
        return f"expected one of {ctx.get('expected', '?')}, got {_got(value)}"
    if kind == "enum":
        return f"expected one of {ctx.get('expected', '?')}, got {_got(value)}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        op = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[kind]
        bound = next(iter(ctx.values())) if ctx else "?"
        return f"must be {op} {bound}, got {_got(value)}"
    if kind == "string_pattern_mismatch":
        return f"{_got(value)} does not match {ctx.get('pattern')}"
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", err["msg"]))
    return f"{err['msg']}, got {_got(value)}"


def _sibling_fields(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    node: Any = model
    for part in loc:
        if isinstance(part, int) or not (isinstance(node, type) and issubclass(node, BaseModel)):
            return []
        field = node.model_fields.get(str(part))
        if field is None:
            return []
        node = _unwrap(field.annotation)
    if isinstance(node, type) and issubclass(node, BaseModel):
        return list(node.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and args:
        return _unwrap(args[0])
    if typing.get_origin(annotation) in (list, dict) and args:
        return _unwrap(args[-1])
    return annotation


def _loc_key(loc: tuple[Any, ...]) -> str:
    # pydantic inserts tagged-union / function-validator names into locs; keep only real keys and indices
    return ".".join(str(p) for p in loc if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))


def validate(comp: Composition, generators: list[Generator[Any]], project_dir: Path) -> Spec:
    """Validate and return the typed :class:`Spec`; raise :class:`SpecError` with *all* problems."""
    model = spec_model(generators)
    problems: list[SpecProblem] = list(comp.problems)
    for key in comp.missing:
        problems.append(SpecProblem(comp.sources.where(key), key, "required value is missing"))
    root = None
    try:
        root = model.model_validate(comp.config)
    except ValidationError as exc:
        reported = {p.key for p in problems}  # the missing keys among them
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            key = _loc_key(loc)
            if key in reported:
                continue
            problems.append(SpecProblem(comp.sources.where(key), key, _message(err, model, loc)))
    if root is not None and not problems:
        spec = Spec(root, project_dir=project_dir, choices=comp.choices, overrides=comp.overrides,
                    where=comp.sources.where)
        for gen in generators:
            if not gen.enabled(spec):  # a switched-off target has nothing to say about the spec
                continue
            try:
                found = list(gen.validate(spec))
            except OSError as exc:  # a path the OS refuses (too long, a loop of links): the spec's problem
                name = str(exc.filename or "")
                shown = name if len(name) <= 80 else name[:77] + "..."
                found = [SpecProblem("", gen.section, f"cannot check a file it names: {exc.strerror or exc}: {shown}")]
            for p in found:
                problems.append(SpecProblem(p.where or comp.sources.where(p.key), p.key, p.message))
    if problems:
        order = {f"override '{o}'": i for i, o in enumerate(comp.overrides)}
        problems.sort(key=lambda p: (p.where in order, order.get(p.where, 0), _line_sort(p.where), p.key))
        raise SpecError(problems)
    return spec


def _line_sort(where: str) -> tuple[str, int]:
    file, _, line = where.rpartition(":")
    return (file, int(line)) if line.isdigit() else (where, 0)
