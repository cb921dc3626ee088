"""Every ``ci.*`` key is documented in generators/ci/README.md's key table."""

from __future__ import annotations

import re
from pathlib import Path

from mlready.generators.ci.spec import CircleciSpec, GithubSpec, GitlabSpec, JenkinsSpec
from pydantic import BaseModel

README = Path(__file__).resolve().parents[2] / "generators" / "ci" / "README.md"


def keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    out = set()
    for name, field in model.model_fields.items():
        sub = field.annotation if isinstance(field.annotation, type) else None
        if sub is not None and issubclass(sub, BaseModel):
            out |= keys(sub, f"{prefix}{name}.")
        else:
            out.add(f"{prefix}{name}")
    return out


def test_every_ci_key_has_a_row_in_the_readme() -> None:
    documented = set(re.findall(r"^\| `([a-z_.]+)`", README.read_text(), re.M))
    every = set().union(*(keys(m) for m in (GitlabSpec, CircleciSpec, GithubSpec, JenkinsSpec)))
    assert every - documented == set()
    assert documented - every == set()
