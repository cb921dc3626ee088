"""Render the pipeline model as ``.gitlab-ci.yml`` (data, then dumped).

Native forms: ``stages``; ``needs`` for order and artifact hand-over; ``cache`` keyed on the lock files
(``key.files``), pushed by the install job and pulled by the others; ``artifacts`` with ``reports.junit``;
the ``docker:dind`` service; ``environment``; a ``when: manual`` gate with ``allow_failure: false``; secrets are
masked CI/CD variables (a *file* variable for kubeconfigs), referenced as ``$NAME``, never inlined.
"""

from __future__ import annotations

from typing import Any

from mlready.generators.ci.model import Job, Pipeline, Secret
from mlready.generators.ci.spec import GitlabSpec

#: job names GitLab reserves for global keywords
RESERVED = frozenset(
    {"image", "services", "stages", "types", "before_script", "after_script", "variables", "cache", "include",
     "default", "workflow", "pages:deploy", "true", "false", "nil"}
)


def secret_variables(secret: Secret) -> dict[str, str]:
    base = secret.store_variable
    if secret.kind == "userpass":
        return {f"{secret.variable}_USER": f"${base}_USER", f"{secret.variable}_PASSWORD": f"${base}_PASSWORD"}
    return {secret.variable: f"${base}"}  # a File-type variable: its value is the path of a file


def _cache(job: Job) -> dict[str, Any]:
    c = job.cache
    assert c is not None
    return {
        "key": {"files": list(c.key_files), "prefix": c.prefix},
        "paths": [f"{p}/" for p in c.paths],
        "policy": "pull-push" if job.id == "install" else "pull",
    }


def _job(pipeline: Pipeline, job: Job, cfg: GitlabSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"stage": job.name}
    steps = list(job.script)
    if job.docker:
        out["services"] = [cfg.dind]
        out["variables"] = {"DOCKER_HOST": "tcp://docker:2375", "DOCKER_TLS_CERTDIR": ""}
        if job.python:  # the Python image (manylinux wheels need glibc) plus Debian's docker client
            steps.insert(0, "apt-get update -qq && apt-get install -y -qq --no-install-recommends docker.io")
        else:
            out["image"] = cfg.docker_image
    elif not job.python:
        # curlimages/curl's entrypoint is curl itself: GitLab needs it cleared to run a script
        out["image"] = {"name": "curlimages/curl:8.10.1", "entrypoint": [""]} if not job.manual else "alpine:3.20"
    if job.needs:
        out["needs"] = [pipeline.job(n).name for n in job.needs]
    variables = dict(out.get("variables", {}))
    for s in job.secrets:
        variables.update(secret_variables(s))
    if variables:
        out["variables"] = variables
    out["script"] = steps
    if job.cache is not None:
        out["cache"] = _cache(job)
    if job.artifacts or job.files or job.junit:
        art: dict[str, Any] = {"paths": [*(f"{p}/" for p in job.artifacts), *job.files], "expire_in": "1 week"}
        if job.junit:
            art["when"] = "always"
            art["reports"] = {"junit": list(job.junit)}
        out["artifacts"] = art
    if job.environment is not None:
        e = job.environment
        out["environment"] = {"name": e.name, "url": e.url or f"${e.url_variable}"}
        if job.id.startswith("deploy-"):
            out["resource_group"] = e.name  # one deploy per environment at a time
            out["interruptible"] = False  # a newer pipeline must not cancel a rollout half-way
    if job.branch_only or job.manual:
        rule: dict[str, Any] = {"if": f'$CI_COMMIT_BRANCH == "{pipeline.branch}"'}
        if job.manual:
            rule.update({"when": "manual", "allow_failure": False})
        out["rules"] = [rule]
    return out


def render_gitlab(pipeline: Pipeline, cfg: GitlabSpec) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "stages": [j.name for j in pipeline.jobs],
        "default": {"image": f"python:{pipeline.python}", "interruptible": True},
        "variables": dict(pipeline.variables),
    }
    for job in pipeline.jobs:
        doc[job.name] = _job(pipeline, job, cfg)
    return doc


def name_problems(name: str) -> str | None:
    if name in RESERVED:
        return f"{name!r} is a reserved GitLab keyword and cannot name a job"
    if not name or name.startswith(".") or len(name) > 255 or any(c in name for c in "\n\r\t"):
        return f"{name!r} is not a valid GitLab job name (1-255 characters, not starting with '.', no control characters)"
    return None
