"""``mlready new``: a new project from the packaged cookiecutter template (``mlready.scaffold``).

The answers are collected first (cookiecutter's own prompts, or the defaults with ``--no-input``, both
overridable by ``key=value``), checked here so that a bad value is reported with the rule it broke before
anything is written, then the template is rendered with prompts off.
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

from mlready.engine.errors import UsageError
from mlready.engine.spec import check_dns1123


def template_dir() -> Path:
    return Path(str(files("mlready.scaffold")))


def template_variables() -> dict[str, Any]:
    """The template's variables and their defaults (choices are lists), without private ``_`` keys."""
    raw = json.loads((template_dir() / "cookiecutter.json").read_text(encoding="utf-8"))
    return {k: v for k, v in raw.items() if not k.startswith("_")}


def parse_assignments(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["key=value", ...]`` -> dict; unknown keys and malformed pairs are usage errors."""
    known = template_variables()
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"expected key=value, got {pair!r}; keys: {', '.join(known)}")
        if key not in known:
            raise UsageError(f"unknown template variable {key!r}; known: {', '.join(known)}")
        choices = known[key]
        if isinstance(choices, list) and value not in choices:
            raise UsageError(f"{key}={value!r} is not one of: {', '.join(choices)}")
        out[key] = value
    return out


def check_answers(answers: dict[str, Any]) -> None:
    try:
        check_dns1123(str(answers.get("project_slug", "")))
    except ValueError as exc:
        raise UsageError(
            f"invalid project_slug: {exc} (it names the image, the Kubernetes objects and the MLflow experiment)"
        ) from None
    if not str(answers.get("project_name", "")).strip():
        raise UsageError("invalid project_name: it must not be empty")


def collect_answers(extra: dict[str, str], no_input: bool) -> dict[str, Any]:
    from cookiecutter.generate import generate_context
    from cookiecutter.prompt import prompt_for_config

    context = generate_context(
        context_file=str(template_dir() / "cookiecutter.json"), extra_context=extra or None
    )
    answers = dict(prompt_for_config(context, no_input=no_input))
    return {k: v for k, v in answers.items() if not k.startswith("_")}


def new_project(output_dir: Path, assignments: list[str] | tuple[str, ...] = (), no_input: bool = False) -> Path:
    """Create the project under ``output_dir``; return its path."""
    from cookiecutter.main import cookiecutter
    from mlready.engine.distribution import mlready_requirement

    # the generated requirements.txt installs mlready from where it really resolves (it is not on PyPI)
    extra = {"mlready_requirement": mlready_requirement(), **parse_assignments(assignments)}
    answers = collect_answers(extra, no_input)
    check_answers(answers)
    dest = Path(output_dir) / answers["project_slug"]
    if dest.exists():
        raise UsageError(f"{dest} already exists; choose another project_slug or output directory")
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    created = cookiecutter(
        str(template_dir()), no_input=True, extra_context=answers, output_dir=str(output_dir)
    )
    return Path(created)
