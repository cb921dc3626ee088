"""``+target=k8s``: the Kubernetes bundle (kustomize base + dev/staging/prod overlays)."""

from __future__ import annotations

from mlready.engine.errors import SpecProblem
from mlready.engine.plugin import Artifact, Generator, Step, StepContext
from mlready.engine.spec import Spec
from mlready.generators.k8s.bundle import bundle_files
from mlready.generators.k8s.checks import check
from mlready.generators.k8s.context import IMAGE_STATE, bundle_context, image_digest
from mlready.generators.k8s.spec import K8sSpec

RUNTIME_STEP = "runtime.config"
RUNTIME_KIND = "runtime-config"


def build_bundle(ctx: StepContext) -> list[Artifact]:
    spec = ctx.spec
    cfg: K8sSpec = spec.section(K8sGenerator.section)
    bc = bundle_context(spec, cfg, image_digest(ctx.project_dir))
    runtime_config = ctx.artifact(RUNTIME_KIND).read_text()
    header = ctx.header("#")
    return [
        Artifact.yaml(path, kind, doc, header=header)
        for path, kind, doc in bundle_files(bc, runtime_config, spec.env.name, spec.env.namespace)
    ]


class K8sGenerator(Generator):
    name = "k8s"
    group = "target"
    section = "target.k8s"
    config_model = K8sSpec
    description = "Kubernetes bundle: kustomize base + dev/staging/prod overlays, HPA, PDB, NetworkPolicy"

    def validate(self, spec: Spec) -> list[SpecProblem]:
        return check(spec, spec.section(self.section), self.section)

    def steps(self, spec: Spec) -> list[Step]:
        cfg = spec.section(self.section)
        return [
            Step(
                id="k8s.bundle",
                run=build_bundle,
                deps=(RUNTIME_STEP,),
                config={
                    "k8s": cfg,
                    "env": spec.env,
                    "project": spec.project,
                    "model": spec.model_name,
                    "serving": _section_or_none(spec, "serving"),
                    "docker": _section_or_none(spec, "target.docker"),
                    "monitoring": _section_or_none(spec, "monitoring"),
                },
                inputs=(IMAGE_STATE,),
                version="1",
                description="Kubernetes manifests and kustomize overlays",
            )
        ]


def _section_or_none(spec: Spec, path: str) -> object:
    try:
        return spec.section(path)
    except AttributeError:
        return None
