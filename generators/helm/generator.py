"""``+target=helm``: a Helm chart of the Kubernetes bundle (``build/helm/<chart>/``, kind ``helm-chart``)."""

from __future__ import annotations

import json

from mlready.engine.errors import SpecProblem
from mlready.engine.plugin import Artifact, Generator, Step, StepContext
from mlready.engine.spec import Spec
from mlready.generators._shared.headers import wrap_header
from mlready.generators._shared.k8s_checks import check
from mlready.generators._shared.k8s_context import bundle_inputs, bundle_step
from mlready.generators.helm.chart import ChartMeta, chart_files
from mlready.generators.helm.spec import SEMVER, HelmSpec
from mlready.generators.model.ids import SIGNATURE
from mlready.generators.runtime.ids import CONFIG_KIND as RUNTIME_KIND

KIND = "helm-chart"
SECTION = "target.helm"


def chart_meta(spec: Spec, cfg: HelmSpec) -> ChartMeta:
    k8s = spec.section("target.k8s")
    project = spec.project
    return ChartMeta(
        name=cfg.chart_name or k8s.name or project.name,
        version=cfg.chart_version or project.version,
        app_version=project.version,
        description=cfg.description or project.description or f"{project.name} model server (mlready)",
        source_url=project.source_url,
    )


def build_chart(ctx: StepContext, gpu: bool = False) -> list[Artifact]:
    """``gpu``: the image is the GPU variant (decided at plan time, as for the k8s bundle)."""
    spec = ctx.spec
    cfg: HelmSpec = spec.section(SECTION)
    bc, groups = bundle_inputs(spec, ctx.project_dir, gpu)
    signature = json.loads(ctx.artifact(SIGNATURE).read_text())
    files = chart_files(bc, chart_meta(spec, cfg), ctx.artifact(RUNTIME_KIND).read_text(), groups, signature,
                        wrap_header(ctx.header("#")), spec.env.name, spec.env.namespace)
    return [Artifact.text(path, KIND, text) for path, text in files.items()]


class HelmGenerator(Generator[HelmSpec]):
    name = "helm"
    group = "target"
    section = SECTION
    config_model = HelmSpec
    description = "Helm chart of the Kubernetes bundle: values per environment, values schema, NOTES"

    def validate(self, spec: Spec) -> list[SpecProblem]:
        cfg = self.config(spec)
        out: list[SpecProblem] = []
        if cfg.chart_version is None and not SEMVER.match(spec.project.version):
            out.append(SpecProblem(
                "", "project.version",
                f"{spec.project.version!r} is not a SemVer 2 version, which the Helm chart takes as its version: "
                f"set {self.section}.chart_version (e.g. '1.0.0')",
            ))
        k8s = spec.section("target.k8s")
        if not k8s.enabled:  # the chart installs the bundle's objects: the same checks as +target=k8s
            out.extend(check(spec, k8s, "target.k8s", needs_stable=True))
        return out

    def steps(self, spec: Spec) -> list[Step]:
        return [bundle_step(spec, "helm.chart", build_chart, "Helm chart of the Kubernetes bundle",
                            helm=self.config(spec))]
