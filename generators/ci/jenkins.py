"""Render the pipeline model as a declarative ``Jenkinsfile`` (Groovy has no serializer: a Jinja template,
``templates/ci/Jenkinsfile.j2``, fed with values quoted here as Groovy string literals).

Native forms: one ``stage`` per job, run in order on one agent (the workspace carries the venv and the build
dir from stage to stage, so no cache step is needed); ``when { branch }``; ``withCredentials`` binds the registry
username/password and the kubeconfig *file* credentials by id; ``junit`` and ``archiveArtifacts`` in ``post``;
an ``input`` step is the manual gate.
"""

from __future__ import annotations

from typing import Any

from mlready.generators.ci.model import Job, Pipeline, Secret
from mlready.generators.ci.spec import JenkinsSpec

TEMPLATE = "ci/Jenkinsfile.j2"


def groovy_str(value: str) -> str:
    """A single-quoted Groovy string literal (no interpolation)."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
    return f"'{escaped}'"


def groovy_script(lines: tuple[str, ...]) -> str:
    """A triple-single-quoted Groovy string for ``sh`` (no interpolation: ``$VAR`` reaches the shell)."""
    body = "\n".join(lines).replace("\\", "\\\\").replace("'''", "\\'\\'\\'")
    return "'''\n" + body + "\n'''"


def credential(secret: Secret) -> str:
    if secret.kind == "userpass":
        return (
            f"usernamePassword(credentialsId: {groovy_str(secret.store)}, "
            f"usernameVariable: {groovy_str(secret.variable + '_USER')}, "
            f"passwordVariable: {groovy_str(secret.variable + '_PASSWORD')})"
        )
    return f"file(credentialsId: {groovy_str(secret.store)}, variable: {groovy_str(secret.variable)})"


def _stage(pipeline: Pipeline, job: Job, first_python: bool) -> dict[str, Any]:
    # one agent, one workspace: only the first Python stage sets the environment up, later ones enter it
    env = []
    if job.environment is not None and job.environment.url:
        env.append((job.environment.url_variable, groovy_str(job.environment.url)))
    return {
        "name": groovy_str(job.name),
        "branch": groovy_str(pipeline.branch) if job.branch_only else "",
        "environment": env,
        "input": groovy_str(f"{job.name}: deploy {pipeline.name} to production?") if job.manual else "",
        "credentials": [credential(s) for s in job.secrets],
        "script": groovy_script(job.script if first_python or not job.python else (*pipeline.activate, *job.steps)),
        "junit": groovy_str(", ".join(job.junit)) if job.junit else "",
        "artifacts": groovy_str(", ".join([*(f"{p}/**" for p in job.artifacts), *job.files]))
        if job.artifacts or job.files else "",
    }


def jenkins_context(pipeline: Pipeline, cfg: JenkinsSpec, header: str, triggers: tuple[str, ...] = (),
                    parameters: tuple[str, ...] = ()) -> dict[str, Any]:
    """The template's values; ``triggers`` and ``parameters``: Groovy lines of those blocks (the retrain job's)."""
    first_python = next(j for j in pipeline.jobs if j.python)
    return {
        "triggers": list(triggers),
        "parameters": list(parameters),
        "header": header.rstrip("\n"),
        "agent": f"{{ label {groovy_str(cfg.agent)} }}" if cfg.agent else "any",
        "timeout_minutes": cfg.timeout_minutes,
        "variables": [(k, groovy_str(v)) for k, v in pipeline.variables],
        "stages": [_stage(pipeline, j, j is first_python) for j in pipeline.jobs],
    }


def name_problems(name: str) -> str | None:
    if not name.strip() or any(ord(c) < 32 for c in name):
        return f"{name!r} is not a valid Jenkins stage name (not blank, no control characters)"
    return None
