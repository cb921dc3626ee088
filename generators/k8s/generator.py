"""``+target=k8s``: the Kubernetes bundle (kustomize base + dev/staging/prod overlays)."""

from __future__ import annotations

from mlready.engine.errors import SpecProblem
from mlready.engine.plugin import Artifact, Generator, Step, StepContext
from mlready.engine.spec import Spec
from mlready.generators._shared.headers import wrap_header
from mlready.generators._shared.k8s_checks import check
from mlready.generators._shared.k8s_context import bundle_inputs, bundle_step
from mlready.generators._shared.k8s_spec import K8sSpec
from mlready.generators.k8s.bundle import bundle_files
from mlready.generators.runtime.ids import CONFIG_KIND as RUNTIME_KIND

#: files holding PromQL (alert rules, KEDA triggers, prometheus-adapter rules): expressions are single tokens
#: longer than 80 columns, so these are the files where yamllint's length rule is off
PROMQL_FILES = ("/prometheusrule.yaml", "/scaledobject.yaml", "/prometheus-adapter/values.yaml")
LONG_LINES = "# yamllint disable rule:line-length\n"


def build_bundle(ctx: StepContext, gpu: bool = False) -> list[Artifact]:
    """``gpu``: the image is the GPU variant (decided at plan time from target.docker and optimize)."""
    spec = ctx.spec
    bc, groups = bundle_inputs(spec, ctx.project_dir, gpu)
    runtime_config = ctx.artifact(RUNTIME_KIND).read_text()
    header = wrap_header(ctx.header("#"))
    return [
        Artifact.yaml(path, kind, doc, header=header + LONG_LINES if path.endswith(PROMQL_FILES) else header)
        for path, kind, doc in bundle_files(bc, runtime_config, spec.env.name, spec.env.namespace, groups)
    ]


class K8sGenerator(Generator[K8sSpec]):
    name = "k8s"
    group = "target"
    section = "target.k8s"
    config_model = K8sSpec
    description = "Kubernetes bundle: kustomize base + dev/staging/prod overlays, HPA, PDB, NetworkPolicy"

    def validate(self, spec: Spec) -> list[SpecProblem]:
        # runs only with +target=k8s (validation skips disabled generators); +target=kserve alone runs the
        # same pod checks from the kserve generator
        return check(spec, self.config(spec), self.section, needs_stable=True)

    def steps(self, spec: Spec) -> list[Step]:
        return [bundle_step(spec, "k8s.bundle", build_bundle, "Kubernetes manifests and kustomize overlays")]
