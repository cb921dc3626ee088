"""The ``target.kserve`` section. Replicas, resources and the canary share come from ``target.k8s`` (its
``environments`` and ``rollout``), so one spec drives both targets; this section holds KServe's own knobs."""

from __future__ import annotations

import re
from typing import Literal

from mlready.engine.plugin import Section
from pydantic import Field, field_validator


class KServeSpec(Section):
    enabled: bool = False
    version: str = Field("0.16", description="KServe version of the cluster: picks the deployment-mode names")
    mode: Literal["standard", "knative"] = Field(
        "standard",
        description="standard: Deployment + HPA (was RawDeployment); knative: Knative revisions (was Serverless), "
        "needed for canaryTrafficPercent",
    )
    min_replicas: int = Field(1, ge=0, description="0 allows scale-to-zero (knative mode only)")
    max_replicas: int = Field(3, ge=1)
    scale_metric: Literal["cpu", "memory", "concurrency", "rps"] = "cpu"
    scale_target: int = Field(70, ge=1, description="target of scale_metric (percent for cpu/memory)")
    timeout_seconds: int = Field(60, ge=1, le=3600, description="request timeout at the KServe ingress")

    @field_validator("version", mode="before")
    @classmethod
    def _number(cls, v: object) -> object:
        if isinstance(v, int | float) and not isinstance(v, bool):
            raise ValueError(f"write the version as a string, e.g. target.kserve.version='{v}' "
                             "(YAML reads 0.10 as the number 0.1)")
        return v

    @field_validator("version")
    @classmethod
    def _version(cls, v: str) -> str:
        if not re.fullmatch(r"[0-9]+\.[0-9]+(\.[0-9]+)?", v):
            raise ValueError(f"{v!r}: expected a KServe version like '0.16' or '0.15.2'")
        return v

    def version_tuple(self) -> tuple[int, int]:
        major, minor = self.version.split(".")[:2]
        return int(major), int(minor)

    @property
    def deployment_mode(self) -> str:
        """The ``serving.kserve.io/deploymentMode`` value: renamed in KServe 0.16."""
        new = self.version_tuple() >= (0, 16)
        if self.mode == "standard":
            return "Standard" if new else "RawDeployment"
        return "Knative" if new else "Serverless"
