"""The error hierarchy. Every error the user can cause is an :class:`MlreadyError` with an exit code.

- :class:`SpecError` (exit 2): one or more located problems in deploy.yaml, a config group file or an override.
- :class:`UsageError` (exit 2): a bad command line (unknown option, missing project, ...).
- :class:`StepError` (exit 1): a build step failed; it may still carry artifacts (a failed gate's report).
- :class:`BuildFailed` (exit 1): the build ran and at least one step failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class MlreadyError(Exception):
    exit_code = 1

    def render(self) -> str:
        return f"error: {self}"


@dataclass(frozen=True)
class SpecProblem:
    """One located spec problem: ``deploy.yaml:12 serving.replicas: expected an integer, got 'two'``."""

    where: str  # "deploy.yaml:12", "conf/env/prod.yaml:3", "override 'serving.replicas=two'", "deploy.yaml"
    key: str  # dotted key path, "" when the problem is not about one key
    message: str

    def __str__(self) -> str:
        parts = [self.where]
        if self.key:
            parts.append(f"{self.key}:")
        elif self.where:
            parts[-1] += ":"
        parts.append(self.message)
        return " ".join(p for p in parts if p)


class SpecError(MlreadyError):
    exit_code = 2

    def __init__(self, problems: list[SpecProblem] | SpecProblem):
        self.problems = [problems] if isinstance(problems, SpecProblem) else list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def render(self) -> str:
        n = len(self.problems)
        head = f"error: the spec has {n} problem{'s' if n != 1 else ''}; nothing was written"
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


class UsageError(MlreadyError):
    exit_code = 2


class TemplateError(MlreadyError):
    """A template failed to render (a bug in a generator, or a bad value that slipped past validation)."""


@dataclass
class StepError(MlreadyError):
    """Raised by a step. ``artifacts`` (e.g. a report explaining a failed gate) are kept for inspection."""

    message: str
    artifacts: list[Any] = field(default_factory=list)
    details: str = ""  # extra text (a table) printed under the message
    exit_code: int = 1

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class BuildFailed(MlreadyError):
    exit_code = 1

    def __init__(self, message: str, failed: list[str]):
        self.failed = failed
        super().__init__(message)
