"""The ``target.helm`` section: the chart's own metadata. Everything the chart installs (objects, pod,
per-environment replicas/resources/autoscaling) comes from ``target.k8s``, as for the kustomize bundle."""

from __future__ import annotations

import re

from mlready.engine.plugin import Section
from pydantic import Field, field_validator

# SemVer 2.0.0 (semver.org's regular expression): Helm refuses a chart version that is not one
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
# Helm's chart name rule: lowercase letters, digits and dashes, starting with a letter
CHART_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def check_semver(value: str | None) -> str | None:
    if value is not None and not SEMVER.match(value):
        raise ValueError(f"{value!r} is not a SemVer 2 version (e.g. '1.2.0'): Helm requires one for a chart")
    return value


class HelmSpec(Section):
    """``target.helm``: a Helm chart of the Kubernetes bundle (``build/helm/<chart>/``)."""

    enabled: bool = False
    chart_name: str | None = Field(
        None, max_length=53, description="chart name; default: target.k8s.name, else project.name"
    )
    chart_version: str | None = Field(None, description="chart version (SemVer 2); default: project.version")
    description: str | None = Field(None, max_length=500, description="default: project.description")

    @field_validator("chart_name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        if v is not None and not CHART_NAME.match(v):
            raise ValueError(
                f"{v!r} is not a chart name (lowercase letters, digits and '-', starting with a letter)"
            )
        return v

    _version = field_validator("chart_version")(classmethod(lambda cls, v: check_semver(v)))
