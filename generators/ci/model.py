"""The one internal pipeline model every CI renderer reads: stages of jobs, each job a list of shell steps.

It says *what* runs; the renderers (gitlab.py, circleci.py, github.py, jenkins.py) say how each CI system
spells it: caches, artifacts, services, environments, manual gates and secrets all have a native form there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: the kind of ``reports/ci-<system>.json``: what a CI generator detected and decided, shown by the build's summary
DECISIONS_KIND = "ci-decisions"


@dataclass(frozen=True)
class Secret:
    """A secret a job needs, by reference only. ``store`` is its name in the CI system's secret store.

    kind ``userpass`` exposes ``<variable>_USER`` and ``<variable>_PASSWORD``; ``file`` puts a path to a file with
    the secret's content in ``variable``.
    """

    variable: str
    store: str
    kind: Literal["userpass", "file"]

    @property
    def store_variable(self) -> str:
        """The store name as GitLab CI/CD variables and GitHub secrets spell it: ``registry-credentials`` ->
        ``REGISTRY_CREDENTIALS``."""
        return "".join(c if c.isalnum() else "_" for c in self.store).upper()


@dataclass(frozen=True)
class Cache:
    key_files: tuple[str, ...]  # lock files whose content keys the cache
    paths: tuple[str, ...]  # what is cached
    prefix: str = "deps"


@dataclass(frozen=True)
class Environment:
    name: str  # staging / production
    url: str  # literal URL or "" (read from url_variable)
    url_variable: str


@dataclass(frozen=True)
class Job:
    id: str  # logical stage id (install, unit-tests, ...)
    name: str  # the name in the target system (spec.stages may rename it)
    steps: tuple[str, ...]  # shell commands, run in order in the checked-out project
    setup: tuple[str, ...] = ()  # commands that prepare a fresh machine for the steps (venv, install)
    needs: tuple[str, ...] = ()  # logical ids of jobs that must succeed first
    python: bool = True  # runs in the Python image with the dependency cache restored
    docker: bool = False  # needs a docker daemon (service / remote docker)
    cache: Cache | None = None
    artifacts: tuple[str, ...] = ()  # folders kept after the job and handed to later jobs
    files: tuple[str, ...] = ()  # single files kept and handed on (the train job's model and data)
    junit: tuple[str, ...] = ()  # JUnit XML reports
    secrets: tuple[Secret, ...] = ()
    environment: Environment | None = None
    manual: bool = False  # a manual approval gate: it runs nothing, a person lets the pipeline go on
    branch_only: bool = False  # runs only on the deploy branch

    @property
    def script(self) -> tuple[str, ...]:
        """What a job on a fresh machine runs: its setup, then its steps."""
        return (*self.setup, *self.steps)


@dataclass(frozen=True)
class Pipeline:
    name: str
    python: str
    jobs: tuple[Job, ...]
    variables: tuple[tuple[str, str], ...] = ()  # pipeline-wide plain variables
    branch: str = "main"
    activate: tuple[str, ...] = ()  # enters the environment a job's setup made, on a machine that kept it
    notes: tuple[str, ...] = ()  # what the build detected and decided (printed, and comments in the file)

    def job(self, job_id: str) -> Job:
        for j in self.jobs:
            if j.id == job_id:
                return j
        raise KeyError(job_id)
