"""The ``docker`` target (``+target=docker``): a hermetic build context and a best-practice Dockerfile.

The image itself is built, smoke-tested and pushed by ``mlready image`` (:mod:`mlready.engine.actions.docker_engine`).
"""

from __future__ import annotations

import re
import sys

from mlready.engine.errors import SpecProblem
from mlready.engine.plugin import Generator, Step
from mlready.generators._shared.facts import docker_variant as variant  # re-exported: engine/actions/image.py
from mlready.generators.docker.spec import DockerSpec
from mlready.generators.runtime.ids import STEP_ID as RUNTIME_STEP

SECTION = "target.docker"
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")


def revision(spec) -> str:
    from mlready.engine.provenance import git_info

    info = git_info(spec.project_dir)
    if not info["commit"]:
        return "unknown"
    return f"{info['commit']}-dirty" if info["dirty"] else str(info["commit"])


class DockerGenerator(Generator[DockerSpec]):
    name = "docker"
    group = "target"
    section = SECTION
    config_model = DockerSpec
    description = "Hermetic Docker build context: Dockerfile, model repository, runtime, lock, wheelhouse"

    def validate(self, spec) -> list[SpecProblem]:
        problems = []
        if not _MODEL_NAME.match(spec.model_name):
            key = "model.name" if spec.model.name else "project.name"
            problems.append(SpecProblem("", key, f"{spec.model_name!r} cannot name a model repository folder "
                                        "(letters, digits, '_', '.', '-')"))
        if not _TAG.match(spec.project.version):
            problems.append(SpecProblem("", "project.version", f"{spec.project.version!r} is not a valid image tag "
                                        "(letters, digits, '_', '.', '-'; at most 128; no '+')"))
        return problems

    def steps(self, spec) -> list[Step]:
        from mlready.generators._shared.facts import batch_scoring, served_model_step
        from mlready.generators.docker import context, lock
        from mlready.generators.docker.dockerfile import TEMPLATE

        cfg = spec.section(SECTION)
        chosen = variant(spec)
        model_step = served_model_step(spec)
        config = context.ContextConfig(
            docker=cfg.model_dump(mode="json"),
            variant=chosen,
            model_step=model_step,
            model_name=spec.model_name,
            model_version=spec.model.version,
            project=spec.project.model_dump(mode="json"),
            revision=revision(spec),
            gpu_requirement=cfg.gpu_onnxruntime if chosen == "gpu" else None,
            scoring=batch_scoring(spec),
        )
        return [
            Step(
                id="docker.context",
                run=lambda ctx: context.build_context(ctx, config),
                deps=(model_step, RUNTIME_STEP),
                config=config.key(),
                inputs=(context.runtime_dir(),),
                templates=(TEMPLATE,),
                tools={"pip": lock.pip_version(), "python": "{}.{}".format(*sys.version_info[:2])},
                description="Docker build context: Dockerfile, runtime, model repository, lock, wheelhouse",
            )
        ]
