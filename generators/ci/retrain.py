"""The retrain loop (``+pipeline=retrain``): gather → retrain → build with the gates and the champion gates →
image → canary deploy → promote the alias, or stop with the gate table.

Two artifacts, laid out as at the repository root:

- ``retrain/dvc.yaml``: the DVC stage ``gather`` that materializes the captured, labelled production rows into
  the next training set (``data.train``), versioned by DVC with the model the pipeline builds from it;
- the CI pipeline for each enabled CI system that has one here: GitHub Actions
  (``ci/.github/workflows/mlready-retrain.yml``: ``schedule`` from ``pipeline.retrain.schedule`` and
  ``repository_dispatch`` of type ``pipeline.retrain.event`` as the trigger an alert can call).

The champion, its alias and the gates are the spec's own: ``readiness.compare_to: models:/<name>@<alias>`` and
``readiness.gates`` (``f1 >= champion.f1 - 0.005``). The build fails on a gate (the job log shows the table);
the promote job moves ``<name>@<alias>`` to the version the build registered (``mlready promote --from-build``).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import asdict
from typing import Any

from mlready.engine.errors import SpecProblem, StepError
from mlready.engine.plugin import Artifact, Generator, Step, StepContext
from mlready.generators.ci import checks, github, jenkins
from mlready.generators.ci.model import Job, Pipeline, Secret
from mlready.generators.ci.pipeline import (
    BUILD_DIR,
    DIST_DIR,
    VARIABLES,
    ci_overrides,
    image_name,
    mlready,
    python_setup,
)
from mlready.generators.ci.project import ProjectPlan, plan_project
from mlready.generators.ci.retrain_spec import RetrainSpec

STAGE_FILE, STAGE_KIND = "retrain/dvc.yaml", "dvc-pipeline"
GITHUB_PATH, GITHUB_KIND = "ci/.github/workflows/mlready-retrain.yml", "github-workflow"
JENKINS_PATH, JENKINS_KIND = "ci/Jenkinsfile.retrain", "jenkinsfile"
RECEIVER_PATH, RECEIVER_KIND = "retrain/alertmanager.yml", "alertmanager-config"
#: the CI systems rendered so far (the others are refused by name at spec time)
SYSTEMS = ("github", "jenkins")
#: the Jenkins build parameter saying why a retrain ran
REASON = "MLREADY_RETRAIN_REASON"
#: what the gather job installs to run its DVC stage (the version tools/install-python-tools.sh tests with)
DVC_REQUIREMENT = "dvc>=3.50,<4"
_ALIAS_URI = re.compile(r"^models:/(?P<name>[^/@'\"\s]+)@(?P<alias>[A-Za-z0-9_-]+)$")


def champion(spec) -> tuple[str, str] | None:
    """(registered name, alias) from ``readiness.compare_to``, when it names an alias."""
    m = _ALIAS_URI.match(spec.section("readiness").compare_to or "")
    return (m["name"], m["alias"]) if m else None


def retrain_overrides(overrides: list[str]) -> list[str]:
    """The CI overrides minus this pipeline's own switch (the retrain build does not rewrite its definition)."""
    return [o for o in ci_overrides(overrides) if o.lstrip("+~") != "pipeline=retrain"
            and not o.lstrip("+~").startswith("pipeline.retrain")]


def gather_stage(cfg: RetrainSpec, train: str, target: str) -> dict[str, Any]:
    """``retrain/dvc.yaml``: one stage, run from the project root (``wdir: ..``)."""
    cmd = ["python", "-m", "mlready.generators.ci.retrain_gather", "--capture", cfg.capture, "--labels", cfg.labels,
           "--target", target, *(("--base", cfg.base) if cfg.base else ()), "--out", train]
    deps = [cfg.capture, cfg.labels, *((cfg.base,) if cfg.base else ())]
    return {"stages": {"gather": {"wdir": "..", "cmd": shlex.join(cmd), "deps": deps, "outs": [train]}}}


def trainer(spec, project: ProjectPlan) -> tuple[str, ...]:
    """The commands that train: the CI pipeline's train job's (detected or ``ci.<system>.produce``), else
    ``python train.py`` when the project has one (the model may be committed, but a retrain always trains)."""
    if project.produce:
        return project.produce
    return ("python train.py",) if (spec.project_dir / "train.py").is_file() else ()


def build_retrain(spec, cfg: RetrainSpec, ci_cfg: Any, project: ProjectPlan, train_cmds: tuple[str, ...],
                  trained: tuple[str, ...], promoted: tuple[str, str]) -> Pipeline:
    """The retrain pipeline's jobs; ``promoted``: the (registered name, alias) the last job moves."""
    ov = retrain_overrides(list(spec.overrides))
    name, alias = promoted
    image = image_name(spec)
    cache, setup, activate = python_setup(ci_cfg, project)
    kube = Secret("KUBECONFIG", ci_cfg.credentials.kubeconfig_staging if cfg.canary_env == "staging"
                  else ci_cfg.credentials.kubeconfig_production, "file")
    registry = Secret("REGISTRY", ci_cfg.credentials.registry, "userpass")
    env = {"staging": "staging", "production": "prod"}.get(cfg.canary_env, cfg.canary_env)

    def job(stage: str, steps: tuple[str, ...], extra_setup: tuple[str, ...] = (), **kw) -> Job:
        if kw.pop("python", True):
            kw["setup"] = (*setup, *extra_setup)
            kw.setdefault("cache", cache)
        else:
            kw["python"] = False
        return Job(id=stage, name=stage, steps=steps, **kw)

    tar = f"{DIST_DIR}/image.tar"
    jobs = (
        # the capture and labels (and the base rows) are pulled from the DVC remote when missing; the new training
        # set goes back to it (dvc.lock records its version)
        job("gather", (f"dvc repro --pull {STAGE_FILE}", "dvc push"), files=(spec.data.train,),
            extra_setup=(f"python -m pip install {shlex.quote(DVC_REQUIREMENT)}",)),
        job("retrain", train_cmds, needs=("gather",), files=trained),
        # the readiness and champion gates: a failed gate fails this job with the gate table in its log
        job("build", (mlready("build", ov, "--wait-tracking"),), needs=("gather", "retrain"),
            artifacts=(BUILD_DIR,)),
        job("image-build", (mlready("image", ov), f"mkdir -p {DIST_DIR}", f"docker save {image} -o {tar}"),
            needs=("build", "retrain"), docker=True, artifacts=(DIST_DIR,)),
        job("push", (f"docker load -i {tar}",
                     'printf \'%s\' "$REGISTRY_PASSWORD" | docker login --username "$REGISTRY_USER" '
                     f"--password-stdin {image.split('/')[0]}", f"docker push {image}"),
            needs=("image-build",), python=False, docker=True, secrets=(registry,)),
        job("deploy-canary", (shlex.join(["mlready", "deploy", "--env", env]),), needs=("push", "build"),
            secrets=(kube,)),
        job("promote", (shlex.join(["mlready", "promote", name, "--alias", alias, "--from-build", BUILD_DIR]),),
            needs=("deploy-canary", "build")),
    )
    return Pipeline(name=f"{spec.project.name} retrain", python=ci_cfg.python, jobs=jobs, variables=VARIABLES,
                    branch=ci_cfg.branch, activate=activate, notes=project.notes)


def render_github_retrain(pipeline: Pipeline, cfg: RetrainSpec, ci_cfg: Any, tracking_uri: str | None) -> dict:
    doc = github.render_github(pipeline, ci_cfg)
    doc["on"] = {"schedule": [{"cron": cfg.schedule}], "repository_dispatch": {"types": [cfg.event]},
                 "workflow_dispatch": {}}
    doc["concurrency"] = {"group": "mlready-retrain", "cancel-in-progress": False}
    if not tracking_uri:  # the registry the champion lives in: a shared server, set as a repository variable
        doc["env"]["MLFLOW_TRACKING_URI"] = "${{ vars.MLFLOW_TRACKING_URI }}"
    return doc


def jenkins_text(ctx: StepContext, pipeline: Pipeline, cfg: RetrainSpec, ci_cfg: Any, header: str) -> str:
    """``Jenkinsfile.retrain``: the retrain job (cron trigger; a parameter the remote trigger sets)."""
    reason = (f"string(name: {jenkins.groovy_str(REASON)}, defaultValue: 'schedule', "
              "description: 'why this retrain runs (schedule, alert, manual)')")
    values = jenkins.jenkins_context(pipeline, ci_cfg, header, triggers=(f"cron({jenkins.groovy_str(cfg.schedule)})",),
                                     parameters=(reason,))
    return ctx.render(jenkins.TEMPLATE, **values)


def receiver(cfg: RetrainSpec, project: str, model: str) -> dict[str, Any]:
    """A complete Alertmanager config whose route sends the model's drift and accuracy alerts to the Jenkins
    retrain job (merge its route and receiver into yours). The API token is read from ``password_file``."""
    r = cfg.receiver
    job = "/job/".join((r.job or f"{project}-retrain").split("/"))
    alerts = "|".join(r.alerts)
    return {
        "route": {"receiver": "default", "routes": [{
            "receiver": "mlready-retrain",
            "matchers": [f'alertname =~ ".*({alerts})"', f'model = "{model}"'],
            "group_by": ["model"], "group_wait": "1m", "repeat_interval": "24h",
        }]},
        "receivers": [
            {"name": "default"},
            {"name": "mlready-retrain", "webhook_configs": [{
                "url": f"{r.jenkins_url}/job/{job}/buildWithParameters?{REASON}=alert",
                "send_resolved": False,
                "http_config": {"basic_auth": {"username": r.user, "password_file": r.password_file}},
            }]},
        ],
    }


class RetrainGenerator(Generator[RetrainSpec]):
    name = "retrain"
    group = "pipeline"
    section = "pipeline.retrain"
    config_model = RetrainSpec
    description = "retrain pipeline: gather labelled production rows (DVC), retrain, gate on the champion, promote"

    def _ci(self, spec) -> list[str]:
        ci = spec.optional_section("ci")
        return sorted(n for n in type(ci).model_fields if getattr(getattr(ci, n), "enabled", False)) if ci else []

    def validate(self, spec) -> list[SpecProblem]:
        cfg: RetrainSpec = self.config(spec)
        if not cfg.enabled:
            return []
        out = []
        if champion(spec) is None:
            out.append(SpecProblem("", "readiness.compare_to", "the retrain pipeline gates on the champion and "
                                   "moves its alias: set readiness.compare_to: models:/<name>@<alias> and champion "
                                   "gates in readiness.gates (e.g. 'f1 >= champion.f1 - 0.005')"))
        if not spec.data.train:
            out.append(SpecProblem("", "data.train", "the retrain pipeline writes the next training set to "
                                   "data.train: set it (the file the trainer reads)"))
        elif cfg.base == spec.data.train:
            out.append(SpecProblem("", "pipeline.retrain.base", "the base rows cannot be data.train itself (it is "
                                   "the stage's output): keep them under another name"))
        systems = self._ci(spec)
        if not systems:
            out.append(SpecProblem("", "pipeline.retrain", "the retrain pipeline is rendered for the CI systems "
                                   "the spec enables: add one (+ci=github)"))
        if cfg.receiver.jenkins_url and "jenkins" not in systems:
            out.append(SpecProblem("", "pipeline.retrain.receiver.jenkins_url", "the Alertmanager receiver starts "
                                   "the Jenkins retrain job: add +ci=jenkins"))
        for s in systems:
            if s not in SYSTEMS:
                out.append(SpecProblem("", f"ci.{s}", f"the retrain pipeline is not rendered for {s} yet "
                                       f"(only: {', '.join(SYSTEMS)})"))
        for s in (s for s in systems if s in SYSTEMS):
            ci_cfg = spec.section(f"ci.{s}")
            if not trainer(spec, plan_project(spec, ci_cfg, f"ci.{s}")):
                out.append(SpecProblem("", f"ci.{s}.produce", "the retrain pipeline retrains with the project's "
                                       "trainer: set the commands that train (e.g. ['python train.py'])"))
        return out

    def steps(self, spec) -> list[Step]:
        cfg: RetrainSpec = self.config(spec)
        systems = [s for s in self._ci(spec) if s in SYSTEMS]
        plans = {}
        for s in systems:
            ci_cfg = spec.section(f"ci.{s}")
            project = plan_project(spec, ci_cfg, f"ci.{s}")
            plans[s] = (ci_cfg, project, trainer(spec, project), project.produced or (spec.model.source,))
        train, target = spec.data.train or "", spec.data.target
        promoted = champion(spec) or ("", "")
        project_name, model_name = spec.project.name, spec.model_name
        tracking = spec.optional_section("tracking")
        tracking_uri = getattr(tracking, "uri", None)

        def run(ctx: StepContext) -> list[Artifact]:
            header = ctx.header("#")
            arts = [Artifact.yaml(STAGE_FILE, STAGE_KIND, gather_stage(cfg, train, target),
                                  header=header + "# copy to retrain/dvc.yaml in the repository; "
                                  f"{train} becomes this stage's output (git rm --cached it if git tracks it)\n")]
            if "github" in plans:
                pipeline = build_retrain(ctx.spec, cfg, *plans["github"], promoted)
                doc = render_github_retrain(pipeline, cfg, plans["github"][0], tracking_uri)
                art = Artifact.yaml(GITHUB_PATH, GITHUB_KIND, doc, header=header)
                problems = checks.github_problems(doc) + checks.secret_problems(doc, art.read_text())
                if problems:
                    raise StepError(f"the generated {GITHUB_PATH} fails mlready's checks", details="\n".join(problems))
                arts.append(art)
            if "jenkins" in plans:
                pipeline = build_retrain(ctx.spec, cfg, *plans["jenkins"], promoted)
                text = jenkins_text(ctx, pipeline, cfg, plans["jenkins"][0], ctx.header("//"))
                problems = checks.jenkins_problems([(j.name, "\n".join(j.script)) for j in pipeline.jobs], text)
                if problems:
                    raise StepError(f"the generated {JENKINS_PATH} fails mlready's checks", details="\n".join(problems))
                arts.append(Artifact.text(JENKINS_PATH, JENKINS_KIND, text))
                if cfg.receiver.jenkins_url:
                    arts.append(Artifact.yaml(RECEIVER_PATH, RECEIVER_KIND, receiver(cfg, project_name, model_name),
                                              header=header))
            return arts

        return [Step(
            id="pipeline.retrain", run=run,
            config={"retrain": cfg, "systems": {s: {"section": c, "project": asdict(p), "train": t, "trained": f}
                                                for s, (c, p, t, f) in plans.items()},
                    "train": train, "target": target, "tracking_uri": tracking_uri, "overrides": list(spec.overrides),
                    "champion": promoted, "model": model_name, "image": image_name(spec), "project": spec.project},
            reads=("overrides", "project", "model.name", "target.docker", "data.train"),
            templates=(jenkins.TEMPLATE,) if "jenkins" in plans else (),
            description="write the retrain pipeline (retrain/dvc.yaml, the CI retrain workflows)",
        )]
