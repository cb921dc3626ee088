"""Render the pipeline model as a GitHub Actions workflow (``.github/workflows/mlready.yml``; data, then dumped).

Native forms: jobs with ``needs``; ``actions/cache`` keyed on ``hashFiles`` of the lock files;
``upload-artifact``/``download-artifact`` to keep and hand on the build dir and reports; ``environment`` with a
URL (protection rules on the ``production-approval`` environment are the manual gate: set required reviewers
there); ``if:`` on the branch; secrets as ``${{ secrets.NAME }}`` and plain settings as ``${{ vars.NAME }}``.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from mlready.generators.ci.circleci import file_secret_prelude
from mlready.generators.ci.model import Job, Pipeline, Secret
from mlready.generators.ci.spec import GithubSpec

JOB_ID = re.compile(r"^[_a-zA-Z][a-zA-Z0-9_-]*$")
URL_VARIABLES = ("MLREADY_STAGING_URL", "MLREADY_PRODUCTION_URL")


def secret_env(secret: Secret) -> dict[str, str]:
    base = secret.store_variable
    if secret.kind == "userpass":
        return {
            f"{secret.variable}_USER": f"${{{{ secrets.{base}_USER }}}}",
            f"{secret.variable}_PASSWORD": f"${{{{ secrets.{base}_PASSWORD }}}}",
        }
    return {f"{secret.variable}_DATA": f"${{{{ secrets.{base} }}}}"}


def _artifact_name(job: Job, path: str) -> str:
    return f"{job.id}-{path.replace('/', '-')}"


def _job(pipeline: Pipeline, job: Job, cfg: GithubSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"name": job.name, "runs-on": cfg.runner}
    if job.needs:
        out["needs"] = [pipeline.job(n).name for n in job.needs]
    if job.branch_only:
        out["if"] = f"github.ref == 'refs/heads/{pipeline.branch}'"
    if job.environment is not None:
        e = job.environment
        out["environment"] = {"name": e.name, "url": e.url or f"${{{{ vars.{e.url_variable} }}}}"}
    elif job.manual:
        out["environment"] = {"name": "production-approval"}
    env: dict[str, str] = {}
    for s in job.secrets:
        env.update(secret_env(s))
    if env:
        out["env"] = env
    steps: list[dict[str, Any]] = [{"uses": "actions/checkout@v4"}]
    if job.python:
        steps.append({"uses": "actions/setup-python@v5", "with": {"python-version": pipeline.python}})
    if job.cache is not None:
        files = ", ".join(f"'{f}'" for f in job.cache.key_files)
        steps.append({
            "uses": "actions/cache@v4",
            "with": {"path": "\n".join(job.cache.paths),
                     "key": f"{job.cache.prefix}-${{{{ runner.os }}}}-${{{{ hashFiles({files}) }}}}"},
        })
    for up in map(pipeline.job, job.needs):
        for path in up.artifacts:
            steps.append({"uses": "actions/download-artifact@v4",
                          "with": {"name": _artifact_name(up, path), "path": path}})
        for path in up.files:  # an artifact of one file keeps only its name: download it into its folder
            steps.append({"uses": "actions/download-artifact@v4",
                          "with": {"name": _artifact_name(up, path), "path": posixpath.dirname(path) or "."}})
    script = [c for s in job.secrets if s.kind == "file" for c in file_secret_prelude(s, "$RUNNER_TEMP")]
    steps.append({"name": job.name, "shell": "bash", "run": "\n".join([*script, *job.script])})
    for path in job.artifacts:
        steps.append({
            "uses": "actions/upload-artifact@v4",
            "if": "always()" if job.junit else "success()",
            "with": {"name": _artifact_name(job, path), "path": f"{path}/", "if-no-files-found": "error"},
        })
    for path in job.files:
        steps.append({
            "uses": "actions/upload-artifact@v4",
            "with": {"name": _artifact_name(job, path), "path": path, "if-no-files-found": "error"},
        })
    out["steps"] = steps
    return out


def render_github(pipeline: Pipeline, cfg: GithubSpec) -> dict[str, Any]:
    env = dict(pipeline.variables)
    for var in URL_VARIABLES:
        env[var] = f"${{{{ vars.{var} }}}}"
    return {
        "name": f"mlready {pipeline.name}",
        "on": {"push": {"branches": [pipeline.branch]}, "pull_request": {}, "workflow_dispatch": {}},
        "permissions": {"contents": "read"},
        "concurrency": {"group": "${{ github.workflow }}-${{ github.ref }}", "cancel-in-progress": False},
        "env": env,
        "jobs": {job.name: _job(pipeline, job, cfg) for job in pipeline.jobs},
    }


def name_problems(name: str) -> str | None:
    if not JOB_ID.match(name):
        return f"{name!r} is not a valid GitHub Actions job id (a letter or '_', then letters, digits, '_' or '-')"
    return None
