"""The ``pipeline.retrain`` section (``+pipeline=retrain``): when and from what the retrain pipeline runs.

```yaml
pipeline:
  retrain:
    schedule: "0 3 * * 1"                 # cron, 5 fields, UTC: a scheduled run
    capture: production/capture           # capture JSONL files (serving.capture's file sink), DVC-tracked
    labels: production/labels.csv         # request_id, the target column [, row]
    base: data/base.csv                   # training rows kept in every retrain (optional)
    canary_env: staging                   # where the challenger is deployed before the alias moves
```

The next training set is written to ``data.train`` (the trainer's input). The champion, its alias and the gates
come from ``readiness.compare_to`` and ``readiness.gates``: the pipeline promotes the alias compare_to names.
"""

from __future__ import annotations

import re

from mlready.engine.plugin import Section
from mlready.generators._shared.cron import check_cron
from pydantic import Field, field_validator

_PATH = re.compile(r"^[A-Za-z0-9_./-]+$")
_EVENT = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def _rel(value: str) -> str:
    if not _PATH.match(value) or value.startswith("/") or ".." in value.split("/"):
        raise ValueError(f"{value!r} is not a relative path inside the project")
    return value


class ReceiverSpec(Section):
    """The Alertmanager receiver that starts the retrain job (Jenkins: buildWithParameters, authenticated with a
    user's API token read from a file: the token is never in the config)."""

    jenkins_url: str = Field("", description="Jenkins base URL; empty: no receiver is written")
    job: str = Field("", description="the retrain job's path in Jenkins (folder/name); empty: <project>-retrain")
    user: str = Field("mlready", description="the Jenkins user whose API token the receiver uses")
    password_file: str = Field("/etc/alertmanager/secrets/mlready-retrain-token",
                               description="file holding that API token, mounted into Alertmanager")
    alerts: list[str] = Field(default_factory=lambda: ["FeatureDrift", "PredictionShift", "LiveGateFailing"],
                              min_length=1, description="alert name suffixes that start a retrain (LiveGateFailing: "
                              "a live accuracy metric fails its readiness gate)")

    @field_validator("jenkins_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if v and not re.match(r"^https?://[^\s'\"`$\\@?#]+$", v):
            raise ValueError(f"{v!r} is not an http(s) base URL without credentials, query or fragment")
        return v.rstrip("/")

    @field_validator("job")
    @classmethod
    def _job(cls, v: str) -> str:
        if v and not re.match(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", v):
            raise ValueError(f"{v!r} is not a Jenkins job path (folder/name: letters, digits, '_', '.', '-')")
        return v

    @field_validator("password_file")
    @classmethod
    def _file(cls, v: str) -> str:
        if not v.startswith("/") or not _PATH.match(v):
            raise ValueError(f"{v!r} is not an absolute file path")
        return v

    @field_validator("alerts")
    @classmethod
    def _alerts(cls, v: list[str]) -> list[str]:
        for a in v:
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", a):
                raise ValueError(f"{a!r} is not an alert name")
        return v


class RetrainSpec(Section):
    enabled: bool = Field(False, description="set by +pipeline=retrain")
    schedule: str = Field("0 3 * * 1", description="cron (5 fields, UTC) of the scheduled retrain")
    capture: str = Field("production/capture", description="folder of capture JSONL files (DVC-tracked)")
    labels: str = Field("production/labels.csv", description="label file: request_id, the target [, row]")
    base: str | None = Field(None, description="training rows kept in every retrain (the next set starts with "
                             "them); unset: the production rows alone")
    canary_env: str = Field("staging", pattern=r"^[a-z][a-z0-9-]*$",
                            description="environment the challenger is deployed to before the alias moves")
    event: str = Field("mlready-retrain", description="the trigger's event name (GitHub repository_dispatch type)")
    receiver: ReceiverSpec = Field(default_factory=ReceiverSpec)

    _cron = field_validator("schedule")(classmethod(lambda cls, v: check_cron(v)))
    _paths = field_validator("capture", "labels", "base")(classmethod(lambda cls, v: v if v is None else _rel(v)))

    @field_validator("event")
    @classmethod
    def _event(cls, v: str) -> str:
        if not _EVENT.match(v):
            raise ValueError(f"{v!r} is not an event name (letters, digits, '_', '.', '-')")
        return v
