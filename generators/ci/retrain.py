"""The retrain loop (``+pipeline=retrain``): gather → retrain → build with the gates and the champion gates →
image → canary deploy → promote the alias, or stop with the gate table.

Two artifacts, laid out as at the repository root:

- ``retrain/dvc.yaml``: the DVC stage ``gather`` that materializes the captured, labelled production rows into
  the next training set (``data.train``), versioned by DVC with the model the pipeline builds from it;
- the CI pipeline for each enabled CI system, from one pipeline model (``build_retrain``) and the systems' own
  renderers: GitHub Actions (``ci/.github/workflows/mlready-retrain.yml``: ``schedule`` from
  ``pipeline.retrain.schedule``, ``repository_dispatch`` of type ``pipeline.retrain.event``), Jenkins
  (``ci/Jenkinsfile.retrain``), GitLab (the child pipeline ``ci/.gitlab-ci-retrain.yml``; the main
  ``.gitlab-ci.yml`` triggers it) and CircleCI (inside ``.circleci/config.yml``, written by the CircleCI step):
  see ``retrain_systems.py``;
- the Alertmanager receivers and the relay for GitHub and CircleCI: ``retrain_receiver.py``.

The champion, its alias and the gates are the spec's own: ``readiness.compare_to: models:/<name>@<alias>`` and
``readiness.gates`` (``f1 >= champion.f1 - 0.005``). The build fails on a gate (the job log shows the table);
the promote job moves ``<name>@<alias>`` to the version the build registered (``mlready promote --from-build``).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import asdict, dataclass
from typing import Any

from mlready.engine.errors import SpecProblem, StepError
from mlready.engine.plugin import Artifact, Generator, Step, StepContext
from mlready.generators.ci import checks, circleci, github, gitlab, jenkins
from mlready.generators.ci import retrain_receiver as rr
from mlready.generators.ci import retrain_systems as rs
from mlready.generators.ci.model import DECISIONS_KIND, Job, Pipeline, Secret
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
#: the CI systems the retrain pipeline is rendered for (circleci: by the CircleCI step, in its one config file)
SYSTEMS = ("circleci", "github", "gitlab", "jenkins")
REASON = rr.REASON
#: what the CircleCI step reads from the spec besides its own when it renders the retrain pipeline too
CIRCLECI_READS = ("data.train",)
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


def gather_stage(cfg: RetrainSpec, train: str, target: str, model: str) -> dict[str, Any]:
    """``retrain/dvc.yaml``: one stage, run from the project root (``wdir: ..``). The labels: the feedback records
    of the served ``model`` in the capture files, and the label file when ``pipeline.retrain.labels`` names one."""
    labels = ("--labels", cfg.labels) if cfg.labels else ()
    cmd = ["python", "-m", "mlready.generators.ci.retrain_gather", "--capture", cfg.capture, *labels,
           "--target", target, "--model", model, *(("--base", cfg.base) if cfg.base else ()), "--out", train]
    deps = [cfg.capture, *((cfg.labels,) if cfg.labels else ()), *((cfg.base,) if cfg.base else ())]
    return {"stages": {"gather": {"wdir": "..", "cmd": shlex.join(cmd), "deps": deps, "outs": [train]}}}


def trainer(spec, project: ProjectPlan) -> tuple[str, ...]:
    """The commands that train: the CI pipeline's train job's (detected or ``ci.<system>.produce``), else
    ``python train.py`` when the project has one (the model may be committed, but a retrain always trains)."""
    if project.produce:
        return project.produce
    return ("python train.py",) if (spec.project_dir / "train.py").is_file() else ()


def build_retrain(spec, cfg: RetrainSpec, ci_cfg: Any, project: ProjectPlan, train_cmds: tuple[str, ...],
                  trained: tuple[str, ...], promoted: tuple[str, str], prefix: str = "") -> Pipeline:
    """The retrain pipeline's jobs; ``promoted``: the (registered name, alias) the last job moves; ``prefix``
    starts every job's name (CircleCI: the retrain jobs share the main pipeline's file)."""
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
        return Job(id=stage, name=prefix + stage, steps=steps, **kw)

    tar = f"{DIST_DIR}/image.tar"
    data = shlex.quote(spec.data.train or "")

    def guard(action: str) -> str:
        return f"python -m mlready.generators.ci.retrain_guard {action} {data}"

    jobs = (
        # the capture and labels (and the base rows) are pulled from the DVC remote when missing; the new training
        # set goes back to it (dvc.lock records its version)
        job("gather", (f"dvc repro --pull {STAGE_FILE}", "dvc push"), files=(spec.data.train,),
            extra_setup=(f"python -m pip install {shlex.quote(DVC_REQUIREMENT)}",)),
        # the trainer trains on the gathered set: MLREADY_RETRAIN_DATA tells the trainers mlready makes to read it as
        # it is, and the guard fails the job if the trainer replaced it (the production rows would be lost)
        job("retrain", (f"export MLREADY_RETRAIN_DATA={data}", guard("record"), *train_cmds, guard("verify")),
            needs=("gather",), files=trained),
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


@dataclass(frozen=True)
class SystemPlan:
    """What one CI system's retrain pipeline is built from, decided at plan time (it goes into the step key)."""

    ci_cfg: Any  # the ci.<system> section
    project: ProjectPlan
    train: tuple[str, ...]  # the trainer's commands
    trained: tuple[str, ...]  # the files they make

    @classmethod
    def of(cls, spec, system: str) -> SystemPlan:
        ci_cfg = spec.section(f"ci.{system}")
        project = plan_project(spec, ci_cfg, f"ci.{system}")
        return cls(ci_cfg, project, trainer(spec, project), project.produced or (spec.model.source,))

    def key(self) -> dict[str, Any]:
        return {"section": self.ci_cfg, "project": asdict(self.project), "train": self.train, "trained": self.trained}

    def pipeline(self, spec, cfg: RetrainSpec, promoted: tuple[str, str], prefix: str = "") -> Pipeline:
        return build_retrain(spec, cfg, self.ci_cfg, self.project, self.train, self.trained, promoted, prefix)


def retrain_for(spec, system: str) -> RetrainSpec | None:
    """The retrain section when ``+pipeline=retrain`` is on and renders for ``system`` (a CI system's own step
    asks: GitLab's main file triggers the child pipeline, CircleCI's holds the retrain workflow)."""
    cfg = spec.optional_section("pipeline.retrain")
    return cfg if cfg is not None and cfg.enabled and system in SYSTEMS else None


def circleci_with_retrain(spec, doc: dict[str, Any], cfg: RetrainSpec, plan: SystemPlan,
                          promoted: tuple[str, str]) -> dict[str, Any]:
    """The CircleCI config with the retrain workflow (called by the CircleCI step, which reads CIRCLECI_READS)."""
    pipeline = plan.pipeline(spec, cfg, promoted, prefix=rs.CIRCLECI_PREFIX)
    try:
        return rs.circleci_attach(doc, circleci.render_circleci(pipeline, plan.ci_cfg), pipeline)
    except ValueError as exc:
        raise StepError("the CircleCI retrain workflow cannot join the main pipeline", details=str(exc)) from None


def _checked(path: str, art: Artifact, problems: list[str]) -> Artifact:
    if problems:
        raise StepError(f"the generated {path} fails mlready's checks", details="\n".join(problems))
    return art


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
        out += [SpecProblem("", key, msg) for key, msg in rr.receiver_problems(cfg.receiver, systems)]
        if "circleci" in systems and rs.circleci_schedule(cfg.schedule, "", "") is None:
            out.append(SpecProblem("", "pipeline.retrain.schedule", f"{cfg.schedule!r} restricts both the day of "
                                   "the month and the weekday: CircleCI's schedules cannot say that (keep one '*')"))
        for s in systems:
            if s not in SYSTEMS:
                out.append(SpecProblem("", f"ci.{s}", f"the retrain pipeline is not rendered for {s} "
                                       f"(only: {', '.join(SYSTEMS)})"))
        for s in (s for s in systems if s in SYSTEMS):
            if not SystemPlan.of(spec, s).train:
                out.append(SpecProblem("", f"ci.{s}.produce", "the retrain pipeline retrains with the project's "
                                       "trainer: set the commands that train (e.g. ['python train.py'])"))
        return out

    def steps(self, spec) -> list[Step]:
        cfg: RetrainSpec = self.config(spec)
        systems = [s for s in self._ci(spec) if s in SYSTEMS]
        plans = {s: SystemPlan.of(spec, s) for s in systems if s != "circleci"}  # CircleCI: its own step
        branches = {s: spec.section(f"ci.{s}").branch for s in systems}
        train, target = spec.data.train or "", spec.data.target
        promoted = champion(spec) or ("", "")
        project_name, model_name, image = spec.project.name, spec.model_name, image_name(spec)
        tracking = spec.optional_section("tracking")
        tracking_uri = getattr(tracking, "uri", None)
        # whether this spec's server writes feedback records into capture files (the labels when cfg.labels is unset)
        serving = spec.optional_section("serving")
        writes_feedback = serving is not None and serving.capture.enabled and serving.capture.sink == "file" \
            and serving.feedback.enabled

        def run(ctx: StepContext) -> list[Artifact]:
            header = ctx.header("#")
            arts = [Artifact.yaml(STAGE_FILE, STAGE_KIND, gather_stage(cfg, train, target, model_name),
                                  header=header + "# copy to retrain/dvc.yaml in the repository; "
                                  f"{train} becomes this stage's output (git rm --cached it if git tracks it)\n")]
            if "github" in plans:
                plan = plans["github"]
                doc = render_github_retrain(plan.pipeline(ctx.spec, cfg, promoted), cfg, plan.ci_cfg, tracking_uri)
                art = Artifact.yaml(GITHUB_PATH, GITHUB_KIND, doc, header=header)
                arts.append(_checked(GITHUB_PATH, art, checks.github_problems(doc)
                                     + checks.secret_problems(doc, art.read_text())))
            if "gitlab" in plans:
                plan = plans["gitlab"]
                doc = rs.gitlab_child(gitlab.render_gitlab(plan.pipeline(ctx.spec, cfg, promoted), plan.ci_cfg))
                schedule = rs.gitlab_schedule(cfg.schedule, plan.ci_cfg.branch, project_name)
                art = Artifact.yaml(rs.GITLAB_PATH, rs.GITLAB_KIND, doc, header=header + (
                    "# the child pipeline the main .gitlab-ci.yml's mlready-retrain job starts on a schedule, the\n"
                    "# create-pipeline API (Alertmanager) or a trigger token. Create the schedule (UTC) once:\n"
                    f"#   {schedule}\n"))
                arts.append(_checked(rs.GITLAB_PATH, art, checks.gitlab_problems(doc)
                                     + checks.secret_problems(doc, art.read_text())))
            if "jenkins" in plans:
                plan = plans["jenkins"]
                pipeline = plan.pipeline(ctx.spec, cfg, promoted)
                text = jenkins_text(ctx, pipeline, cfg, plan.ci_cfg, ctx.header("//"))
                problems = checks.jenkins_problems([(j.name, "\n".join(j.script)) for j in pipeline.jobs], text)
                arts.append(_checked(JENKINS_PATH, Artifact.text(JENKINS_PATH, JENKINS_KIND, text), problems))
            if "circleci" in systems:
                body = rs.circleci_schedule(cfg.schedule, branches["circleci"], project_name)
                assert body is not None, "validate refuses such a schedule"
                arts.append(Artifact.json(rs.CIRCLECI_SCHEDULE_PATH, rs.CIRCLECI_SCHEDULE_KIND, body))
            if any(rr.configured(cfg.receiver, s) for s in systems):
                arts.append(Artifact.yaml(rr.RECEIVER_PATH, rr.RECEIVER_KIND, rr.alertmanager_config(
                    cfg, systems, project_name, model_name, branches), header=header))
            relay = rr.relay_config(cfg, systems, branches)
            if relay is not None:
                arts.append(Artifact.json(rr.RELAY_PATH, rr.RELAY_KIND, relay))
                arts.append(Artifact.yaml(rr.COMPOSE_PATH, rr.COMPOSE_KIND, rr.relay_compose(relay, image),
                                          header=header + "# the retrain relay: put the token files in ./secrets/ "
                                          "beside this file, then: docker compose -f relay.compose.yml up -d\n"))
            notes = [f"retrain: copy {STAGE_FILE} to the repository's retrain/; a run, as its jobs do: dvc repro "
                     f"{STAGE_FILE} (writes {train}), the trainer with MLREADY_RETRAIN_DATA={train} (it must train "
                     "on that file as it is: the job fails if the trainer rewrites it), mlready build (the champion "
                     "gates), then mlready promote"]
            if not cfg.labels:
                notes.append(f"retrain: pipeline.retrain.labels is not set: the gather stage's labels are the feedback "
                             f"records of {model_name} in {cfg.capture} (the server writes one for every label its "
                             "feedback API accepts, with serving.capture's file sink and serving.feedback on"
                             + ("" if writes_feedback else "; this spec does not switch both on, so unless the "
                                "production server's config does, the stage will find no labels")
                             + "); set it to a label file to add your labelling process's labels")
            if not cfg.base:
                notes.append(f"retrain: pipeline.retrain.base is not set: {train} will hold the labelled production "
                             "rows alone (set it to a file of training rows every retrain keeps)")
            arts.append(Artifact.json("reports/ci-retrain.json", DECISIONS_KIND,
                                      {"system": "retrain", "file": STAGE_FILE, "notes": notes}))
            return arts

        return [Step(
            id="pipeline.retrain", run=run,
            config={"retrain": cfg, "systems": {s: p.key() for s, p in plans.items()}, "branches": branches,
                    "train": train, "target": target, "tracking_uri": tracking_uri, "overrides": list(spec.overrides),
                    "champion": promoted, "model": model_name, "image": image, "project": spec.project,
                    "writes_feedback": writes_feedback},
            reads=("overrides", "project", "model.name", "target.docker", "data.train"),
            templates=(jenkins.TEMPLATE,) if "jenkins" in plans else (),
            description="write the retrain pipeline (retrain/dvc.yaml, the CI retrain workflows, the receivers)",
        )]
