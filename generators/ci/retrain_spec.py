"""The ``pipeline.retrain`` section (``+pipeline=retrain``): when and from what the retrain pipeline runs.

```yaml
pipeline:
  retrain:
    schedule: "0 3 * * 1"                 # cron, 5 fields, UTC: a scheduled run
    capture: production/capture           # capture JSONL files (serving.capture's file sink), DVC-tracked
    labels: null                          # unset: the feedback records in the capture files are the labels;
                                          # or a label file (request_id, the target column [, row]) added to them
    base: data/base.csv                   # training rows kept in every retrain (optional)
    canary_env: staging                   # where the challenger is deployed before the alias moves
```

The next training set is written to ``data.train`` (the trainer's input). The champion, its alias and the gates
come from ``readiness.compare_to`` and ``readiness.gates``: the pipeline promotes the alias compare_to names.
"""

from __future__ import annotations

import re
from typing import Literal

from mlready.engine.plugin import Section
from mlready.generators._shared.cron import check_cron
from pydantic import Field, field_validator

_PATH = re.compile(r"^[A-Za-z0-9_./-]+$")
_EVENT = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def _rel(value: str) -> str:
    if not _PATH.match(value) or value.startswith("/") or ".." in value.split("/"):
        raise ValueError(f"{value!r} is not a relative path inside the project")
    return value


_TOKEN_FILE_HELP = "file holding that token, mounted into {who} (never the token itself)"


def _base_url(v: str) -> str:
    if v and not re.match(r"^https?://[^\s'\"`$\\@?#]+$", v):
        raise ValueError(f"{v!r} is not an http(s) base URL without credentials, query or fragment")
    return v.rstrip("/")


def _url_path(v: str, pattern: str, what: str) -> str:
    """``v`` when empty or matching ``pattern`` without a '.' or '..' segment (the URL path it becomes would point
    somewhere else); else ValueError saying it is not ``what``."""
    if v and (not re.fullmatch(pattern, v) or any(part in (".", "..") for part in v.split("/"))):
        raise ValueError(f"{v!r} is not {what}")
    return v


def _abs_file(v: str) -> str:
    if not v.startswith("/") or not _PATH.match(v):
        raise ValueError(f"{v!r} is not an absolute file path (the secret file mounted into the container)")
    return v


class ReceiverSpec(Section):
    """The Alertmanager receivers that start the retrain pipeline, one webhook per CI system configured here
    (``retrain_receiver.py``). Tokens are always files mounted into Alertmanager (or the relay), never values.

    Direct (Alertmanager's own webhook can call them): Jenkins (``buildWithParameters``, basic auth with a
    user's API token: ``password_file``) and GitLab (the create-pipeline API, ``Authorization: Bearer`` with a
    project access token: ``gitlab_token_file``). Through the relay (``python -m mlready.runtime.relay``): GitHub
    (``repository_dispatch``) and CircleCI (the v2 pipeline API with parameters), whose APIs need a JSON body of
    their own that Alertmanager's webhook cannot send."""

    jenkins_url: str = Field("", description="Jenkins base URL; empty: no Jenkins receiver")
    job: str = Field("", description="the retrain job's path in Jenkins (folder/name); empty: <project>-retrain")
    user: str = Field("mlready", description="the Jenkins user whose API token the receiver uses")
    password_file: str = Field("/etc/alertmanager/secrets/mlready-retrain-token",
                               description=_TOKEN_FILE_HELP.format(who="Alertmanager") + ": the Jenkins API token")
    gitlab_url: str = Field("", description="GitLab base URL (https://gitlab.com); empty: no GitLab receiver")
    gitlab_project: str = Field("", description="the GitLab project: numeric id or full path (group/name)")
    gitlab_token_file: str = Field("/etc/alertmanager/secrets/gitlab-token",
                                   description=_TOKEN_FILE_HELP.format(who="Alertmanager")
                                   + ": a project access token with the api scope")
    relay_url: str = Field("", description="base URL of the mlready relay as Alertmanager reaches it "
                           "(http://mlready-relay:9095); empty: no GitHub or CircleCI receiver")
    relay_token_file: str = Field("/etc/alertmanager/secrets/mlready-relay-token",
                                  description=_TOKEN_FILE_HELP.format(who="Alertmanager")
                                  + ": the token the relay expects from Alertmanager")
    github_repo: str = Field("", description="owner/name of the GitHub repository (the relay's dispatch target)")
    github_api: str = Field("https://api.github.com", description="GitHub API base URL (GitHub Enterprise: "
                            "https://HOST/api/v3)")
    circleci_project: str = Field("", description="CircleCI project slug (gh/owner/name, circleci/org-id/project-id)")
    circleci_definition_id: str = Field("", description="CircleCI pipeline definition id (Project Settings > "
                                        "Pipelines): the relay uses POST .../pipeline/run, the endpoint GitHub App "
                                        "projects have; empty: the older POST .../pipeline (GitHub OAuth, Bitbucket)")
    circleci_api: str = Field("https://circleci.com", description="CircleCI base URL (server: https://HOST)")
    alerts: list[str] = Field(default_factory=lambda: ["FeatureDrift", "PredictionShift", "LiveGateFailing"],
                              min_length=1, description="alert name suffixes that start a retrain (LiveGateFailing: "
                              "a live accuracy metric fails its readiness gate)")

    _urls = field_validator("jenkins_url", "gitlab_url", "relay_url", "github_api", "circleci_api")(
        classmethod(lambda cls, v: _base_url(v)))
    _files = field_validator("password_file", "gitlab_token_file", "relay_token_file")(
        classmethod(lambda cls, v: _abs_file(v)))

    _job = field_validator("job")(classmethod(lambda cls, v: _url_path(
        v, r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*", "a Jenkins job path (folder/name: letters, digits, '_', '.', '-')")))
    _github_repo = field_validator("github_repo")(classmethod(lambda cls, v: _url_path(
        v, r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", "a GitHub repository (owner/name)")))
    _circleci_project = field_validator("circleci_project")(classmethod(lambda cls, v: _url_path(
        v, r"[A-Za-z0-9_-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", "a CircleCI project slug (vcs/org/repo: gh/owner/name)")))

    @field_validator("circleci_definition_id")
    @classmethod
    def _definition_id(cls, v: str) -> str:
        if v and not re.fullmatch(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", v):
            raise ValueError(f"{v!r} is not a CircleCI pipeline definition id (a UUID)")
        return v

    @field_validator("gitlab_project", mode="before")
    @classmethod
    def _gitlab_project(cls, v: object) -> object:
        v = str(v) if isinstance(v, int) and not isinstance(v, bool) else v  # a numeric id written as a number
        if not isinstance(v, str):
            return v  # the type error says what was expected
        return _url_path(v, r"[0-9]+|[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+",
                         "a GitLab project: its numeric id or its full path (group/name)")

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
    labels: str | None = Field(None, description="label file (request_id, the target [, row]) your labelling "
                               "process writes, DVC-tracked; unset: the labels are the feedback records in the "
                               "capture files alone (serving.feedback and serving.capture on). Set, both are read: "
                               "for the same request and row the file's label wins")
    base: str | None = Field(None, description="training rows kept in every retrain (the next set starts with "
                             "them); unset: the production rows alone")
    canary_env: Literal["dev", "staging", "prod", "production"] = Field(
        "staging", description="overlay the challenger is deployed to (mlready deploy --env) before the alias moves")
    event: str = Field("mlready-retrain", description="the trigger's event name (GitHub repository_dispatch type)")
    receiver: ReceiverSpec = Field(default_factory=ReceiverSpec)

    _cron = field_validator("schedule")(classmethod(lambda cls, v: check_cron(v)))
    _paths = field_validator("capture", "labels", "base")(classmethod(lambda cls, v: v if v is None else _rel(v)))

    @field_validator("labels", "base")
    @classmethod
    def _table(cls, v: str | None) -> str | None:
        if v is not None and not v.endswith((".csv", ".parquet")):
            raise ValueError(f"{v!r}: a CSV (.csv) or Parquet (.parquet) file")
        return v

    @field_validator("event")
    @classmethod
    def _event(cls, v: str) -> str:
        if not _EVENT.match(v):
            raise ValueError(f"{v!r} is not an event name (letters, digits, '_', '.', '-')")
        return v
