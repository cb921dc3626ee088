"""The CI generators: one per system, all rendering the same pipeline model (``pipeline.py``).

Each validates its stage names for its system, builds the model, renders it, runs mlready's own checks
(``checks.py``) and returns one artifact under ``ci/`` in the build dir, laid out as the system expects it
at the repository root (``ci/.gitlab-ci.yml``, ``ci/.circleci/config.yml``, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any, ClassVar

from mlready.engine.errors import SpecProblem, StepError
from mlready.engine.plugin import Artifact, Generator, Step, StepContext
from mlready.generators.ci import checks, circleci, github, gitlab, jenkins, retrain_systems
from mlready.generators.ci.model import DECISIONS_KIND
from mlready.generators.ci.pipeline import build_pipeline, image_name, target_problems
from mlready.generators.ci.project import ProjectPlan, plan_project
from mlready.generators.ci.retrain import (
    CIRCLECI_READS,
    SystemPlan,
    champion,
    circleci_with_retrain,
    retrain_for,
)
from mlready.generators.ci.spec import STAGES, CircleciSpec, GithubSpec, GitlabSpec, JenkinsSpec, PipelineSpec


class _CiGenerator(Generator[PipelineSpec]):
    group = "ci"
    kind: ClassVar[str]
    path: ClassVar[str]
    name_problems: Callable[[str], str | None]  # a staticmethod on each subclass
    templates: ClassVar[tuple[str, ...]] = ()

    def validate(self, spec) -> list[SpecProblem]:
        cfg: PipelineSpec = self.config(spec)
        if not cfg.enabled:
            return []
        problems = []
        seen: dict[str, str] = {}
        for stage in STAGES:
            name = cfg.stage_name(stage)
            key = f"{self.section}.stages.{stage}"
            msg = type(self).name_problems(name)
            if msg:
                problems.append(SpecProblem("deploy.yaml", key, msg))
            elif name in seen:
                problems.append(SpecProblem("deploy.yaml", key, f"{name!r} also names stage {seen[name]!r}"))
            seen.setdefault(name, stage)
        problems += [SpecProblem("deploy.yaml", key, msg) for key, msg in target_problems(spec, self.section)]
        problems += [SpecProblem("", key, msg) for key, msg in plan_project(spec, cfg, self.section).problems]
        return problems

    def render(self, ctx: StepContext, cfg: Any, project: ProjectPlan, retrain: Any = None) -> Artifact:
        raise NotImplementedError

    def retrain(self, spec) -> tuple[Any, dict[str, Any] | None, tuple[str, ...]]:
        """What this system's file needs of ``+pipeline=retrain``: (what render gets, its part of the step key, the
        spec paths it reads). GitLab and CircleCI keep one pipeline configuration per project, so their main file
        carries the retrain hook (retrain_systems.py); the others have a file of their own (the retrain step)."""
        return None, None, ()

    def steps(self, spec) -> list[Step]:
        cfg = self.config(spec)
        project = plan_project(spec, cfg, self.section)  # what the project has: decided here, in the key
        hook, hook_key, hook_reads = self.retrain(spec)
        return [
            Step(
                id=f"ci.{self.name}",
                run=lambda ctx: [self.render(ctx, cfg, project, hook), self._decisions(project)],
                # everything the run reads from the spec: the image comes from target.docker.registry
                config={"section": cfg, "overrides": list(spec.overrides), "project": spec.project,
                        "model": spec.model_name, "image": image_name(spec), "detected": asdict(project),
                        "retrain": hook_key},
                reads=("overrides", "project", "model.name", "target.docker", *hook_reads),
                templates=self.templates,
                description=f"{self.name} pipeline ({self.path})",
            )
        ]

    def _checked(self, art: Artifact, problems: list[str]) -> Artifact:
        if problems:
            raise StepError(f"the generated {self.path} fails mlready's checks", details="\n".join(problems))
        return art

    def _decisions(self, project: ProjectPlan) -> Artifact:
        """``reports/ci-<system>.json``: what the build detected and decided, for the build's summary."""
        return Artifact.json(f"reports/ci-{self.name}.json", DECISIONS_KIND,
                             {"system": self.name, "file": self.path, "notes": list(project.notes)})

    @staticmethod
    def _header(ctx: StepContext, comment: str, project: ProjectPlan) -> str:
        """The do-not-edit header, then what the build detected in the project and decided."""
        return ctx.header(comment) + "".join(f"{comment} {note}\n" for note in project.notes)

    def _yaml(self, ctx: StepContext, doc: dict[str, Any], problems: list[str], project: ProjectPlan) -> Artifact:
        art = Artifact.yaml(self.path, self.kind, doc, header=self._header(ctx, "#", project))
        return self._checked(art, problems + checks.secret_problems(doc, art.read_text()))


class GitlabGenerator(_CiGenerator):
    name = "gitlab"
    section = "ci.gitlab"
    config_model = GitlabSpec
    description = "GitLab CI pipeline (.gitlab-ci.yml)"
    kind = "gitlab-ci"
    path = "ci/.gitlab-ci.yml"
    name_problems = staticmethod(gitlab.name_problems)

    def retrain(self, spec) -> tuple[Any, dict[str, Any] | None, tuple[str, ...]]:
        on = retrain_for(spec, self.name) is not None
        return on, ({"child": retrain_systems.GITLAB_PATH} if on else None), ()

    def render(self, ctx: StepContext, cfg: GitlabSpec, project: ProjectPlan, retrain: Any = None) -> Artifact:
        doc = gitlab.render_gitlab(build_pipeline(ctx.spec, cfg, project), cfg)
        if retrain:
            doc = retrain_systems.gitlab_attach(doc)
        return self._yaml(ctx, doc, checks.gitlab_problems(doc), project)


class CircleciGenerator(_CiGenerator):
    name = "circleci"
    section = "ci.circleci"
    config_model = CircleciSpec
    description = "CircleCI 2.1 pipeline (.circleci/config.yml)"
    kind = "circleci-config"
    path = "ci/.circleci/config.yml"
    name_problems = staticmethod(circleci.name_problems)

    def retrain(self, spec) -> tuple[Any, dict[str, Any] | None, tuple[str, ...]]:
        cfg = retrain_for(spec, self.name)
        if cfg is None:
            return None, None, ()
        plan, promoted = SystemPlan.of(spec, self.name), champion(spec) or ("", "")
        return ((cfg, plan, promoted), {"retrain": cfg, "plan": plan.key(), "champion": promoted},
                CIRCLECI_READS)

    def render(self, ctx: StepContext, cfg: CircleciSpec, project: ProjectPlan, retrain: Any = None) -> Artifact:
        doc = circleci.render_circleci(build_pipeline(ctx.spec, cfg, project), cfg)
        if retrain:
            doc = circleci_with_retrain(ctx.spec, doc, *retrain)
        return self._yaml(ctx, doc, checks.circleci_problems(doc), project)


class GithubGenerator(_CiGenerator):
    name = "github"
    section = "ci.github"
    config_model = GithubSpec
    description = "GitHub Actions workflow (.github/workflows/mlready.yml)"
    kind = "github-workflow"
    path = "ci/.github/workflows/mlready.yml"
    name_problems = staticmethod(github.name_problems)

    def render(self, ctx: StepContext, cfg: GithubSpec, project: ProjectPlan, retrain: Any = None) -> Artifact:
        doc = github.render_github(build_pipeline(ctx.spec, cfg, project), cfg)
        return self._yaml(ctx, doc, checks.github_problems(doc), project)


class JenkinsGenerator(_CiGenerator):
    name = "jenkins"
    section = "ci.jenkins"
    config_model = JenkinsSpec
    description = "declarative Jenkins pipeline (Jenkinsfile)"
    kind = "jenkinsfile"
    path = "ci/Jenkinsfile"
    templates = (jenkins.TEMPLATE,)
    name_problems = staticmethod(jenkins.name_problems)

    def render(self, ctx: StepContext, cfg: JenkinsSpec, project: ProjectPlan, retrain: Any = None) -> Artifact:
        pipeline = build_pipeline(ctx.spec, cfg, project)
        text = ctx.render(jenkins.TEMPLATE, **jenkins.jenkins_context(pipeline, cfg, self._header(ctx, "//", project)))
        problems = checks.jenkins_problems([(j.name, "input" if j.manual else "\n".join(j.script))
                                            for j in pipeline.jobs], text)
        return self._checked(Artifact.text(self.path, self.kind, text), problems)
