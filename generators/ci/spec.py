"""Spec sections of the CI generators: one section per CI system (``ci.gitlab``, ``ci.jenkins``, ...).

Every system shares :class:`PipelineSpec`; several can be on at once (``+ci=[gitlab,jenkins]``). Secrets are
never values in the spec: ``credentials`` holds the *names* under which each CI system's own secret store
keeps them (a Jenkins credentials id, a CircleCI context, a GitHub or GitLab variable name).
"""

from __future__ import annotations

import re

from mlready.engine.plugin import Section
from pydantic import Field, field_validator

#: the logical stages of the pipeline, in order (see pipeline.py)
STAGES = (
    "install",
    "train",
    "unit-tests",
    "validate",
    "build",
    "image-build",
    "push",
    "deploy-staging",
    "smoke-test",
    "approve-production",
    "deploy-production",
)

_VARIABLE = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def _check_variable(value: str) -> str:
    if not _VARIABLE.match(value):
        raise ValueError(f"{value!r} is not an environment variable name (A-Z, 0-9 and _, not starting with a digit)")
    return value


class CredentialsSpec(Section):
    """Names (never values) of the secrets the pipeline uses, as the CI system's secret store knows them."""

    registry: str = Field(
        "registry-credentials",
        description="username/password for the image registry: Jenkins credentials id, CircleCI context; "
        "GitLab/GitHub read the variables REGISTRY_USER and REGISTRY_PASSWORD",
    )
    kubeconfig_staging: str = Field("kubeconfig-staging", description="kubeconfig of the staging cluster")
    kubeconfig_production: str = Field("kubeconfig-production", description="kubeconfig of production")

    @field_validator("registry", "kubeconfig_staging", "kubeconfig_production")
    @classmethod
    def _name(cls, v: str) -> str:
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", v):
            raise ValueError(f"{v!r} is not a secret name (letters, digits, '_', '.', '-')")
        return v


class EnvironmentSpec(Section):
    url: str = Field("", description="base URL of the deployed server; empty: read from the variable below")
    url_variable: str = Field(description="CI variable holding the URL when 'url' is empty")

    _var = field_validator("url_variable")(classmethod(lambda cls, v: _check_variable(v)))

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if v and not re.match(r"^https?://[^\s'\"`$\\]+$", v):
            raise ValueError(f"{v!r} is not an http(s) URL")
        if v and "@" in v.split("://", 1)[1].split("/", 1)[0]:
            raise ValueError("the URL carries credentials: keep them in the CI system's secret store")
        return v


class PipelineSpec(Section):
    """What every CI system's pipeline is made of."""

    enabled: bool = False
    python: str = Field("3.11", pattern=r"^3\.\d+$", description="Python version of the job images")
    branch: str = Field("main", pattern=r"^[A-Za-z0-9._/-]+$", description="deploys run only on this branch")
    install: list[str] | None = Field(
        None, min_length=1,
        description="commands that install the project's dependencies, mlready included; unset: detected "
        "(requirements.txt, else pyproject.toml, plus mlready and pytest when they do not list them)",
    )
    mlready: str | None = Field(
        None, min_length=1,
        description="pip requirement that installs mlready when the project's requirements do not list it; "
        "unset: $MLREADY_SPEC, else where the building mlready was installed from",
    )
    lock_files: list[str] | None = Field(
        None, min_length=1, max_length=2,
        description="files whose content keys the dependency cache (at most 2: GitLab's limit); unset: the "
        "detected requirement files (deploy.yaml when there are none)",
    )
    tests: str | None = Field(
        None, description="the unit-test folder or file (pytest); unset: tests/ when it exists, else no "
        "unit-test job; '' for none",
    )
    produce: list[str] | None = Field(
        None,
        description="commands that produce the model and data files git does not have (a fresh clone lacks "
        "them); unset: detected (the DVC pipeline's train stage, else train.py); [] for none",
    )
    scan: bool = Field(True, description="scan the image with trivy before pushing")
    scan_severity: str = Field("HIGH,CRITICAL", pattern=r"^(UNKNOWN|LOW|MEDIUM|HIGH|CRITICAL)(,(UNKNOWN|LOW|MEDIUM|HIGH|CRITICAL))*$")
    stages: dict[str, str] = Field(
        default_factory=dict,
        description="rename stages for this system: logical stage -> name (logical: " + ", ".join(STAGES) + ")",
    )
    credentials: CredentialsSpec = Field(default_factory=CredentialsSpec)
    staging: EnvironmentSpec = Field(default_factory=lambda: EnvironmentSpec(url_variable="MLREADY_STAGING_URL"))
    production: EnvironmentSpec = Field(
        default_factory=lambda: EnvironmentSpec(url_variable="MLREADY_PRODUCTION_URL")
    )

    @field_validator("lock_files")
    @classmethod
    def _files(cls, v: list[str] | None) -> list[str] | None:
        for f in v or ():
            if not re.match(r"^[A-Za-z0-9_./-]+$", f) or f.startswith("/") or ".." in f.split("/"):
                raise ValueError(f"{f!r} is not a relative file path")
        return v

    @field_validator("tests")
    @classmethod
    def _tests(cls, v: str | None) -> str | None:
        if v and (not re.match(r"^[A-Za-z0-9_./-]+$", v) or v.startswith("/") or ".." in v.split("/")):
            raise ValueError(f"{v!r} is not a relative path")
        return v

    @field_validator("stages")
    @classmethod
    def _stages(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(v) - set(STAGES))
        if unknown:
            raise ValueError(f"unknown stage(s) {unknown}; the stages are: {', '.join(STAGES)}")
        return v

    def stage_name(self, stage: str) -> str:
        return self.stages.get(stage, stage)


class GitlabSpec(PipelineSpec):
    docker_image: str = Field("docker:27", description="image of the docker-only jobs (push)")
    dind: str = Field("docker:27-dind", description="docker-in-docker service")


class CircleciSpec(PipelineSpec):
    context: str = Field("", description="extra CircleCI context every deploy job gets (empty: none)")


class GithubSpec(PipelineSpec):
    runner: str = Field("ubuntu-latest", description="runs-on label")


class JenkinsSpec(PipelineSpec):
    agent: str = Field("", description="agent label ('' runs on any agent)")
    timeout_minutes: int = Field(60, ge=1)
