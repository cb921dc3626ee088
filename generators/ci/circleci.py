"""Render the pipeline model as ``.circleci/config.yml`` (CircleCI 2.1; data, then dumped).

Native forms: jobs plus one workflow whose ``requires`` give the order; ``restore_cache``/``save_cache`` keyed
on the lock files' checksums; ``persist_to_workspace``/``attach_workspace`` hand the build dir on,
``store_artifacts`` and ``store_test_results`` (JUnit) keep it; ``setup_remote_docker`` for image jobs; an
``approval`` job as the manual gate; branch ``filters``; secrets come from *contexts* (by name) as environment
variables, never inlined.
"""

from __future__ import annotations

import re
from typing import Any

from mlready.generators.ci.model import Job, Pipeline, Secret
from mlready.generators.ci.spec import CircleciSpec

JOB_NAME = re.compile(r"^[A-Za-z][A-Za-z\s\d_-]*$")


def file_secret_prelude(secret: Secret, directory: str) -> tuple[str, ...]:
    """A file secret arrives as base64 content in ``<VARIABLE>_DATA``; write it out and point the variable at it."""
    path = f"{directory}/{secret.variable.lower()}"
    return (
        f'printf \'%s\' "${secret.variable}_DATA" | base64 -d > "{path}"',
        f'export {secret.variable}="{path}"',
    )


def cache_key(job: Job) -> str:
    assert job.cache is not None
    sums = "-".join(f'{{{{ checksum "{f}" }}}}' for f in job.cache.key_files)
    return f"{job.cache.prefix}-{{{{ arch }}}}-{sums}"


def _upstream(pipeline: Pipeline, job: Job) -> list[Job]:
    seen: dict[str, Job] = {}

    def walk(j: Job) -> None:
        for n in j.needs:
            up = pipeline.job(n)
            if up.id not in seen:
                seen[up.id] = up
                walk(up)

    walk(job)
    return list(seen.values())


def _job(pipeline: Pipeline, job: Job) -> dict[str, Any]:
    steps: list[Any] = ["checkout"]
    if any(up.artifacts or up.files for up in _upstream(pipeline, job)):
        steps.append({"attach_workspace": {"at": "."}})
    if job.cache is not None:
        steps.append({"restore_cache": {"keys": [cache_key(job)]}})
    if job.docker:
        steps.append("setup_remote_docker")
    script = [c for s in job.secrets if s.kind == "file" for c in file_secret_prelude(s, "$HOME")]
    script += list(job.script)
    steps.append({"run": {"name": job.name, "command": "\n".join(script)}})
    if job.cache is not None and job.id == "install":
        steps.append({"save_cache": {"key": cache_key(job), "paths": list(job.cache.paths)}})
    for path in job.junit:
        steps.append({"store_test_results": {"path": path}})
    for path in (*job.artifacts, *job.files):
        steps.append({"store_artifacts": {"path": path}})
    if job.artifacts or job.files:
        steps.append({"persist_to_workspace": {"root": ".", "paths": [*job.artifacts, *job.files]}})
    executor = "python" if job.python else "base"
    return {"executor": executor, "steps": steps}


def render_circleci(pipeline: Pipeline, cfg: CircleciSpec) -> dict[str, Any]:
    jobs: dict[str, Any] = {}
    workflow: list[Any] = []
    for job in pipeline.jobs:
        entry: dict[str, Any] = {}
        if job.needs:
            entry["requires"] = [pipeline.job(n).name for n in job.needs]
        contexts = [s.store for s in job.secrets]
        if contexts and cfg.context:
            contexts.append(cfg.context)
        if contexts:
            entry["context"] = contexts
        if job.branch_only:
            entry["filters"] = {"branches": {"only": [pipeline.branch]}}
        if job.manual:
            entry["type"] = "approval"
        else:
            jobs[job.name] = _job(pipeline, job)
        workflow.append({job.name: entry} if entry else job.name)
    environment = dict(pipeline.variables)
    return {
        "version": 2.1,
        "executors": {
            "python": {"docker": [{"image": f"cimg/python:{pipeline.python}"}], "environment": environment},
            "base": {"docker": [{"image": "cimg/base:current"}], "environment": environment},
        },
        "jobs": jobs,
        "workflows": {pipeline.name: {"jobs": workflow}},
    }


def name_problems(name: str) -> str | None:
    if not JOB_NAME.match(name):
        return f"{name!r} is not a valid CircleCI job name (a letter, then letters, digits, spaces, '_' or '-')"
    return None
