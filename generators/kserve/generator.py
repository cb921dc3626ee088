"""``+target=kserve``: a KServe InferenceService (``kserve/inferenceservice.yaml``) for the current env."""

from __future__ import annotations

from functools import partial

from mlready.engine.errors import SpecProblem, StepError
from mlready.engine.plugin import Artifact, Generator, Step, StepContext
from mlready.engine.spec import Spec
from mlready.generators._shared.facts import docker_variant
from mlready.generators._shared.headers import wrap_header
from mlready.generators._shared.k8s_checks import check
from mlready.generators._shared.k8s_context import IMAGE_STATE, bundle_context, env_namespace, image_digest
from mlready.generators.kserve import schema
from mlready.generators.kserve.inferenceservice import capture_claim_in, inference_service
from mlready.generators.kserve.spec import KServeSpec

PATH = "kserve/inferenceservice.yaml"
KIND = "kserve-inferenceservice"
CAPTURE_PATH = "kserve/pvc-capture.yaml"  # serving.capture with the file sink: the predictor's claim


def build_isvc(ctx: StepContext, gpu: bool = False) -> list[Artifact]:
    """``gpu``: the image is the GPU variant (decided at plan time from target.docker and optimize)."""
    spec = ctx.spec
    cfg: KServeSpec = spec.section(KServeGenerator.section)
    k8s = spec.section("target.k8s")
    bc = bundle_context(spec, k8s, image_digest(ctx.project_dir), gpu=gpu)
    env = spec.env.name
    namespace = env_namespace(bc, env, env, spec.env.namespace)
    e = k8s.environments.get(env)
    doc = inference_service(bc, cfg, namespace, e.resources, e.autoscaling.cpu_utilization)
    errors = schema.problems(doc)
    if errors:  # a bug in this generator, never the user's input: stop before writing a broken object
        raise StepError("the InferenceService does not match the KServe CRD schema", details="\n".join(errors))
    out = [Artifact.yaml(PATH, KIND, doc, header=wrap_header(ctx.header("#")))]
    claim = capture_claim_in(bc, namespace)
    if claim is not None:
        out.append(Artifact.yaml(CAPTURE_PATH, "k8s-manifest", claim, header=wrap_header(ctx.header("#"))))
    return out


class KServeGenerator(Generator[KServeSpec]):
    name = "kserve"
    group = "target"
    section = "target.kserve"
    config_model = KServeSpec
    description = "KServe InferenceService (serving.kserve.io/v1beta1) running the model-server image"

    def validate(self, spec: Spec) -> list[SpecProblem]:
        cfg: KServeSpec = self.config(spec)
        if not cfg.enabled:
            return []
        out = []
        if cfg.min_replicas > cfg.max_replicas:
            out.append(SpecProblem("", f"{self.section}.min_replicas",
                                   f"the minimum ({cfg.min_replicas}) is above the maximum ({cfg.max_replicas})"))
        if cfg.mode == "standard" and cfg.min_replicas == 0:
            out.append(SpecProblem("", f"{self.section}.min_replicas",
                                   "scale-to-zero (0) needs mode 'knative'; the standard mode keeps >= 1 pod"))
        if cfg.mode == "standard" and cfg.scale_metric in ("concurrency", "rps"):
            out.append(SpecProblem("", f"{self.section}.scale_metric",
                                   f"{cfg.scale_metric!r} is a Knative metric; the standard mode (HPA) takes cpu or memory"))
        k8s = spec.section("target.k8s")
        if not k8s.enabled:  # the pod (resources, labels, names) comes from target.k8s: check it here too
            out.extend(check(spec, k8s, "target.k8s", needs_stable=False))
        if spec.section("serving").autoscaling.via == "keda" and cfg.mode != "standard":
            out.append(SpecProblem("", f"{self.section}.mode", "serving.autoscaling.via keda is KServe's KEDA "
                                   "route, which only the standard mode (raw Deployments) has"))
        if k8s.rollout.strategy == "shadow":
            out.append(SpecProblem("", "target.k8s.rollout.strategy", "'shadow' is written by the k8s bundle "
                                   "(+target=k8s) only: the InferenceService would send every client to the new "
                                   "version; build KServe with 'rolling' or 'canary'"))
        if k8s.rollout.strategy == "canary" and cfg.mode == "standard":
            out.append(SpecProblem("", f"{self.section}.mode",
                                   "canaryTrafficPercent needs mode 'knative' (revision-based traffic split); "
                                   "or use target.k8s for a replica-weighted canary"))
        return out

    def steps(self, spec: Spec) -> list[Step]:
        gpu = docker_variant(spec) == "gpu"
        return [
            Step(
                id="kserve.inferenceservice",
                run=partial(build_isvc, gpu=gpu),
                config={
                    "gpu": gpu,
                    "kserve": self.config(spec),
                    "k8s": spec.section("target.k8s"),
                    "env": spec.env,
                    "project": spec.project,
                    "serving": spec.section("serving"),
                    "docker": spec.section("target.docker"),
                },
                reads=("target.k8s", "env", "project", "model.name", "serving", "target.docker",
                       "monitoring.prometheus", "monitoring.grafana"),
                inputs=(IMAGE_STATE,),
                description="KServe InferenceService",
            )
        ]
