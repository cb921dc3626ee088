"""``+target=batch``: batch scoring with the built image, as Kubernetes objects and cloud batch jobs (one step
per platform in ``target.batch.platforms``)."""

from __future__ import annotations

from functools import partial
from typing import Any

from mlready.engine.errors import SpecProblem, StepError
from mlready.engine.plugin import Artifact, Generator, Step, StepContext
from mlready.engine.spec import Spec
from mlready.generators._shared.cloud import require_cloud_contract
from mlready.generators._shared.facts import docker_variant, image_reference, score_args
from mlready.generators._shared.headers import wrap_header
from mlready.generators._shared.k8s_checks import check
from mlready.generators._shared.k8s_context import IMAGE_STATE, bundle_context, env_namespace, image_digest
from mlready.generators.batch import azureml, k8s, sagemaker, vertex
from mlready.generators.batch.locations import SECTION, location, problems
from mlready.generators.batch.spec import BatchSpec

OUT = "batch"
#: what every step reads besides target.batch: the image's model folder (serving, model) and its reference
READS = ("project", "model.name", "model.version", "serving", "target.docker")
K8S_READS = (*READS, "target.k8s", "env", "monitoring.prometheus", "monitoring.grafana")


def _cfg(ctx: StepContext) -> BatchSpec:
    cfg: BatchSpec = ctx.spec.section(SECTION)
    return cfg


def _where(ctx: StepContext, platform: str, which: str) -> str:
    loc = location(ctx.spec, _cfg(ctx), platform, which)
    if loc is None:  # checked at spec time (BatchGenerator.validate)
        raise StepError(f"target.batch: no {which} for {platform}")
    return loc.uri


def build_k8s(ctx: StepContext, gpu: bool = False) -> list[Artifact]:
    spec, cfg = ctx.spec, _cfg(ctx)
    bc = bundle_context(spec, spec.section("target.k8s"), image_digest(ctx.project_dir), gpu=gpu)
    env = spec.env.name
    namespace = env_namespace(bc, env, env, spec.env.namespace)
    r = bc.cfg.environments.get(env).resources
    template = k8s.pod_template(bc, spec, cfg, r, _where(ctx, "k8s", "input"), _where(ctx, "k8s", "output"),
                                cfg.image or bc.image.pinned)
    head = wrap_header(ctx.header("#"))
    arts = [Artifact.yaml(f"{OUT}/k8s/job.yaml", "k8s-manifest", k8s.job(bc, cfg, namespace, r, template), header=head),
            Artifact.yaml(f"{OUT}/k8s/networkpolicy.yaml", "k8s-manifest", k8s.network_policy(bc, namespace),
                          header=head)]
    if cfg.schedule:
        arts.append(Artifact.yaml(f"{OUT}/k8s/cronjob.yaml", "k8s-manifest",
                                  k8s.cron_job(bc, cfg, namespace, r, template), header=head))
    return arts


def build_sagemaker(ctx: StepContext) -> list[Artifact]:
    spec, cfg = ctx.spec, _cfg(ctx)
    image = cfg.image or image_reference(spec)
    job = sagemaker.create_transform_job(spec, cfg, _where(ctx, "sagemaker", "input"),
                                         _where(ctx, "sagemaker", "output"))
    return [Artifact.json(f"{OUT}/sagemaker/model.json", "sagemaker-create-model",
                          sagemaker.create_model(spec, image), sort_keys=False),
            Artifact.json(f"{OUT}/sagemaker/transform-job.json", "sagemaker-transform-job", job, sort_keys=False)]


def build_vertex(ctx: StepContext) -> list[Artifact]:
    body = vertex.batch_prediction_job(ctx.spec, _cfg(ctx), _where(ctx, "vertex", "input"),
                                       _where(ctx, "vertex", "output"))
    return [Artifact.json(f"{OUT}/vertex/batch-prediction-job.json", "vertex-batch-prediction-job", body,
                          sort_keys=False)]


def build_azureml(ctx: StepContext) -> list[Artifact]:
    spec, cfg = ctx.spec, _cfg(ctx)
    source, dest = _where(ctx, "azureml", "input"), _where(ctx, "azureml", "output")
    args = score_args(spec, azureml.INPUT, azureml.OUTPUT, keep=cfg.keep, bad_rows=cfg.bad_rows)
    head = ctx.header("#")
    docs = {
        "endpoint.yml": ("azureml-batch-endpoint", azureml.endpoint(spec, cfg)),
        "deployment.yml": ("azureml-batch-deployment", azureml.deployment(spec, cfg)),
        "pipeline.yml": ("azureml-pipeline-component", azureml.pipeline(spec, cfg.image or image_reference(spec), args,
                                                                         azureml.input_kind(source))),
        "inputs.yml": ("azureml-batch-inputs", azureml.invoke_inputs(source, dest)),
    }
    return [Artifact.yaml(f"{OUT}/azureml/{name}", kind, doc, header=head) for name, (kind, doc) in docs.items()]


class BatchGenerator(Generator[BatchSpec]):
    name = "batch"
    group = "target"
    section = SECTION
    config_model = BatchSpec
    description = "batch scoring with the built image: k8s CronJob + Job, SageMaker Batch Transform, Vertex AI " \
                  "BatchPredictionJob, Azure ML batch endpoint"

    def validate(self, spec: Spec) -> list[SpecProblem]:
        cfg: BatchSpec = self.config(spec)
        if not cfg.enabled:
            return []
        out = [SpecProblem("", key, message) for key, message in problems(spec, cfg)]
        if "k8s" in cfg.platforms and not spec.section("target.k8s").enabled:
            out.extend(check(spec, spec.section("target.k8s"), "target.k8s", needs_stable=False))  # the pod's
        docker = spec.optional_section("target.docker")
        if getattr(docker, "scoring", None) is False and {"k8s", "azureml"} & set(cfg.platforms):
            out.append(SpecProblem("", "target.docker.scoring", "the k8s and azureml batch jobs run the image's "
                                   "scorer, which needs pyarrow: leave target.docker.scoring unset (or true)"))
        if "sagemaker" in cfg.platforms:
            out.extend(require_cloud_contract(spec, "batch (sagemaker)", "sagemaker", port=8080))
            if cfg.keep:
                out.append(SpecProblem("", f"{SECTION}.keep", "SageMaker Batch Transform sends the rows, not "
                                       "their other columns, to the model: no column can be kept (use the k8s or "
                                       "azureml platform, or vertex for one key column)"))
            if cfg.bad_rows == "skip":
                out.append(SpecProblem("", f"{SECTION}.bad_rows", "SageMaker Batch Transform fails the job on a "
                                       "request the model refuses; 'skip' needs the k8s or azureml platform"))
            limit = spec.section("serving").max_body_bytes
            if cfg.sagemaker.max_payload_mb * 1024 * 1024 > limit:
                out.append(SpecProblem("", f"{SECTION}.sagemaker.max_payload_mb", f"{cfg.sagemaker.max_payload_mb} MB "
                                       f"is above what the server accepts (serving.max_body_bytes: {limit})"))
        if "vertex" in cfg.platforms:
            out.extend(require_cloud_contract(spec, "batch (vertex)", "vertex"))
            if len(cfg.keep) > 1:
                out.append(SpecProblem("", f"{SECTION}.keep", f"Vertex AI carries one key column through a batch "
                                       f"prediction (keyField), got {len(cfg.keep)}: {', '.join(cfg.keep)}"))
            if cfg.vertex.max_replica_count < cfg.vertex.starting_replica_count:
                out.append(SpecProblem("", f"{SECTION}.vertex.max_replica_count",
                                       f"{cfg.vertex.max_replica_count} is below starting_replica_count "
                                       f"{cfg.vertex.starting_replica_count}"))
        if docker_variant(spec) == "gpu" and set(cfg.platforms) - {"k8s"}:
            out.append(SpecProblem("", f"{SECTION}.platforms", "the cloud batch jobs run the CPU image: target.docker "
                                   "builds the GPU one here; use the k8s platform or target.docker.variant=cpu"))
        return out

    def steps(self, spec: Spec) -> list[Step]:
        cfg: BatchSpec = self.config(spec)
        common: dict[str, Any] = {"cfg": cfg, "project": spec.project, "model": spec.model_name,
                                  "version": spec.model.version, "image": image_reference(spec)}
        out = []
        if "k8s" in cfg.platforms:
            gpu = docker_variant(spec) == "gpu"
            out.append(Step(id="batch.k8s", run=partial(build_k8s, gpu=gpu), reads=K8S_READS,
                            inputs=(IMAGE_STATE,), config={**common, "gpu": gpu, "env": spec.env},
                            description="batch scoring CronJob and Job"))
        cloud = {"sagemaker": (build_sagemaker, "SageMaker Batch Transform requests"),
                 "vertex": (build_vertex, "Vertex AI BatchPredictionJob"),
                 "azureml": (build_azureml, "Azure ML batch endpoint and deployment")}
        for platform, (body, description) in cloud.items():
            if platform in cfg.platforms:
                out.append(Step(id=f"batch.{platform}", run=body, reads=READS, config=common,
                                description=description))
        return out
