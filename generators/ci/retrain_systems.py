"""The retrain pipeline in GitLab CI and CircleCI, which run one pipeline configuration per project: the retrain
jobs must sit beside the main pipeline's, and each run must pick one of the two.

GitLab: the retrain pipeline is a child pipeline, ``.gitlab-ci-retrain.yml`` (a complete file: the same renderer
as the main one, ``gitlab.render_gitlab``). The main ``.gitlab-ci.yml`` gets a trigger job ``mlready-retrain``
that starts it, and a first rule on every other job that keeps it out of such runs. A run is a retrain when
GitLab says it was started by a pipeline schedule (``$CI_PIPELINE_SOURCE == "schedule"``: create the schedule
with the spec's cron, the file's header says how), by the create-pipeline API (``api``: Alertmanager's receiver),
by a trigger token (``trigger``), or by a person with the variable ``MLREADY_RETRAIN_REASON`` set (Run pipeline).

CircleCI: the retrain jobs (``retrain-*``) and workflow ``<project>-retrain`` go into ``.circleci/config.yml``;
the boolean pipeline parameter ``mlready-retrain`` selects it (``when``), the main workflow runs when it is false.
The API v2 pipeline endpoint (the relay) and a schedule trigger set it (with ``mlready-retrain-reason``).
"""

from __future__ import annotations

import shlex
from typing import Any

from mlready.generators.ci.model import Pipeline
from mlready.generators.ci.retrain_receiver import CIRCLECI_PARAMETER, REASON

GITLAB_PATH, GITLAB_KIND = "ci/.gitlab-ci-retrain.yml", "gitlab-ci"
#: the trigger job (and its stage) the main .gitlab-ci.yml gets
GITLAB_TRIGGER = "mlready-retrain"
#: the runs that are retrains (GitLab's rules syntax)
GITLAB_RETRAIN = ('$CI_PIPELINE_SOURCE == "schedule" || $CI_PIPELINE_SOURCE == "api" || '
                  f'$CI_PIPELINE_SOURCE == "trigger" || ${REASON}')
#: the parent pipeline's source, handed to the child pipeline
GITLAB_SOURCE = "MLREADY_RETRAIN_SOURCE"
#: CircleCI's job-name prefix for the retrain jobs (the main pipeline has a build, a push, ...)
CIRCLECI_PREFIX = "retrain-"


def gitlab_schedule(cron: str, branch: str, project: str) -> str:
    """The command that creates the pipeline schedule (GitLab keeps schedules in the project, not the file)."""
    return shlex.join(["glab", "schedule", "create", "--cron", cron, "--cronTimeZone", "UTC", "--ref", branch,
                       "--description", f"{project} retrain"])


def gitlab_child(doc: dict[str, Any]) -> dict[str, Any]:
    """The child pipeline file: the rendered retrain pipeline; the reason is the one a person gave the run, else
    the parent's pipeline source (a forwarded pipeline variable wins over this YAML one)."""
    doc["variables"] = {**doc["variables"], REASON: f"${GITLAB_SOURCE}"}
    return doc


def gitlab_attach(doc: dict[str, Any]) -> dict[str, Any]:
    """The main ``.gitlab-ci.yml`` with the retrain trigger job and every other job kept out of retrain runs."""
    never = {"if": GITLAB_RETRAIN, "when": "never"}
    for name in doc["stages"]:  # the main pipeline names each stage after its one job
        doc[name]["rules"] = [never, *doc[name].get("rules", [{"when": "on_success"}])]
    doc["stages"] = [*doc["stages"], GITLAB_TRIGGER]
    doc[GITLAB_TRIGGER] = {
        "stage": GITLAB_TRIGGER,
        # not MLREADY_RETRAIN_REASON itself: rules:if sees job variables, and this one is never empty
        "variables": {GITLAB_SOURCE: "$CI_PIPELINE_SOURCE"},
        "trigger": {"include": [{"local": GITLAB_PATH.removeprefix("ci/")}], "strategy": "depend",
                    "forward": {"yaml_variables": True, "pipeline_variables": True}},
        "rules": [{"if": GITLAB_RETRAIN}],
    }
    return doc


def circleci_attach(doc: dict[str, Any], retrain: dict[str, Any], pipeline: Pipeline) -> dict[str, Any]:
    """The main ``.circleci/config.yml`` with the retrain jobs and workflow ``retrain`` (rendered from the retrain
    pipeline, job names prefixed), selected by the ``mlready-retrain`` pipeline parameter."""
    if retrain["executors"] != doc["executors"]:  # both pipelines come from the same ci.circleci section
        raise ValueError("the retrain pipeline's executors differ from the main pipeline's")
    clash = sorted(set(retrain["jobs"]) & set(doc["jobs"]))
    if clash:
        raise ValueError(f"retrain job names clash with the main pipeline's: {', '.join(clash)}")
    selected = f"<< pipeline.parameters.{CIRCLECI_PARAMETER} >>"
    doc["parameters"] = {
        CIRCLECI_PARAMETER: {"type": "boolean", "default": False,
                             "description": "run the retrain workflow instead of the main one"},
        f"{CIRCLECI_PARAMETER}-reason": {"type": "string", "default": "schedule",
                                         "description": "why the retrain runs (schedule, alert, manual)"},
    }
    doc["workflows"] = {name: {"when": {"not": selected}, **wf} for name, wf in doc["workflows"].items()}
    reason = {REASON: f"<< pipeline.parameters.{CIRCLECI_PARAMETER}-reason >>"}
    doc["jobs"].update({name: {**job, "environment": reason} for name, job in retrain["jobs"].items()})
    (workflow,) = retrain["workflows"].values()
    doc["workflows"][pipeline.name.replace(" ", "-")] = {"when": selected, **workflow}
    return doc


CIRCLECI_SCHEDULE_PATH, CIRCLECI_SCHEDULE_KIND = "retrain/circleci-schedule.json", "circleci-schedule"
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def circleci_schedule(cron: str, branch: str, project: str) -> dict[str, Any] | None:
    """The body of CircleCI's ``POST /api/v2/project/<slug>/schedule``: the spec's cron as a timetable (CircleCI
    schedules take no cron), the retrain parameters set. None when the cron restricts both the day of the month
    and the weekday (cron runs on either; a timetable cannot say that). A timetable has no minute: ``per-hour``
    runs spread over each chosen hour."""
    from croniter import croniter

    minutes, hours, days, months, weekdays = croniter.expand(cron)[0]
    if days != ["*"] and weekdays != ["*"]:
        return None
    timetable: dict[str, Any] = {"per-hour": len(minutes) if minutes != ["*"] else 60,
                                 "hours-of-day": list(range(24)) if hours == ["*"] else hours}
    if days != ["*"]:
        timetable["days-of-month"] = days
    else:
        timetable["days-of-week"] = list(_DAYS) if weekdays == ["*"] else [_DAYS[d % 7] for d in weekdays]
    if months != ["*"]:
        timetable["months"] = [_MONTHS[m - 1] for m in months]
    return {"name": f"{project} retrain", "description": f"mlready retrain, cron {cron} (UTC)",
            "attribution-actor": "system", "timetable": timetable,
            "parameters": {"branch": branch, CIRCLECI_PARAMETER: True, f"{CIRCLECI_PARAMETER}-reason": "schedule"}}
