"""``+target=vertex``: a Vertex AI model upload and endpoint deployment, as API JSON and as gcloud commands.

- ``vertex/model.json`` (kind ``vertex-model``): the ``UploadModelRequest`` body; the container spec is the
  mlready image on ``serving.http_port`` with its health and predict routes (Vertex passes them to the
  container as ``AIP_HEALTH_ROUTE``/``AIP_PREDICT_ROUTE``, which the runtime serves);
- ``vertex/endpoint.json`` (kind ``vertex-endpoint``): the ``Endpoint`` to create;
- ``vertex/deploy-model.json`` (kind ``vertex-deployment``): the ``DeployModelRequest`` body (machine type,
  min/max replicas, CPU autoscaling target, traffic split). ``deployedModel.model`` is the resource-name
  template ``projects/{project}/locations/{region}/models/{model_id}``: the caller substitutes it;
- ``vertex/deploy.sh`` (kind ``vertex-script``): the same as ``gcloud ai`` commands. Project, region and the
  image are parameters (environment variables); credentials come from ``gcloud auth``.
"""

from __future__ import annotations

import re
from typing import Any

from mlready.engine.errors import SpecProblem
from mlready.engine.plugin import Artifact, Generator, Section, Step, StepContext
from mlready.generators._shared import cloud_catalog as catalog
from mlready.generators._shared.cloud import require_cloud_contract
from mlready.generators._shared.facts import check_image, docker_variant, image_reference
from mlready.generators.cloud.common import q, shell_script
from pydantic import Field, field_validator

OUT = "vertex"
COMPUTE = "https://cloud.google.com/vertex-ai/docs/predictions/configure-compute"
MODEL_NAME_TEMPLATE = "projects/{project}/locations/{region}/models/{model_id}"
CPU_METRIC = "aiplatform.googleapis.com/prediction/online/cpu/utilization"


class VertexSpec(Section):
    """Enabled by ``+target=vertex``."""

    enabled: bool = False
    display_name: str | None = Field(None, max_length=128, description="model and endpoint name; default project.name")
    machine_type: str = Field("n1-standard-2", description=f"a Vertex AI prediction machine type ({COMPUTE})")
    min_replicas: int | None = Field(None, ge=1, description="default serving.replicas")
    max_replicas: int | None = Field(None, ge=1, description="default: min_replicas + 1")
    cpu_target_percent: int = Field(60, ge=1, le=100, description="autoscaling target CPU utilization")
    traffic: dict[str, int] = Field({"0": 100}, description="'0' = this deployment, other keys are ids of models "
                                    "already deployed on the endpoint -> percent of traffic (sum 100)")
    health_route: str = Field("/v2/health/ready", pattern=r"^/[\w./-]*$")
    predict_route: str = Field("/predict", pattern=r"^/[\w./:-]*$")
    image: str | None = Field(None, description="default <target.docker.registry>/<project>:<version>")
    accelerator_type: str | None = Field(None, description="GPU of an n1 machine for the GPU image (NVIDIA_TESLA_T4, "
                                         "...); g2 machines come with NVIDIA_L4")
    accelerator_count: int = Field(1, ge=1, le=8, description="GPUs per replica")

    _image = field_validator("image")(classmethod(lambda cls, v: check_image(v)))
    _traffic = field_validator("traffic")(classmethod(lambda cls, v: catalog.check_traffic(v)))

    @field_validator("accelerator_type")
    @classmethod
    def _accelerator(cls, v: str | None) -> str | None:
        return v if v is None else catalog.check_choice(v, catalog.VERTEX_ACCELERATORS, "Vertex AI accelerator", COMPUTE)

    @field_validator("traffic", mode="before")
    @classmethod
    def _str_keys(cls, v: object) -> object:  # `traffic={0:20,4711:80}` on the command line gives int keys
        return {str(k): val for k, val in v.items()} if isinstance(v, dict) else v

    @field_validator("machine_type")
    @classmethod
    def _machine(cls, v: str) -> str:
        return catalog.check_choice(v, catalog.VERTEX_MACHINE_TYPES, "Vertex AI prediction machine type", COMPUTE)


def accelerator(cfg: VertexSpec, gpu: bool) -> dict[str, Any]:
    """The machine spec's GPU fields for the GPU image (empty for the CPU image)."""
    if not gpu:
        return {}
    kind = cfg.accelerator_type or next(
        (acc for prefix, acc in catalog.VERTEX_BUILT_IN_GPU.items() if cfg.machine_type.startswith(prefix)), None)
    return {"acceleratorType": kind, "acceleratorCount": cfg.accelerator_count} if kind else {}


def replicas(spec: Any, cfg: VertexSpec) -> tuple[int, int]:
    low = cfg.min_replicas or spec.section("serving").replicas
    return low, cfg.max_replicas or low + 1


def model_body(spec: Any, cfg: VertexSpec) -> dict[str, Any]:
    name = cfg.display_name or spec.project.name
    return {"model": {
        "displayName": name,
        "description": f"{spec.model_name} v{spec.model.version} ({spec.project.name} {spec.project.version})",
        "containerSpec": {
            "imageUri": image_reference(spec, cfg.image),
            "ports": [{"containerPort": spec.section("serving").http_port}],
            "healthRoute": cfg.health_route,
            "predictRoute": cfg.predict_route,
        },
        "labels": {"mlready-project": spec.project.name,
                   "mlready-version": re.sub(r"[^a-z0-9_-]", "-", spec.project.version.lower())},
    }}


def endpoint_body(spec: Any, cfg: VertexSpec) -> dict[str, Any]:
    return {"displayName": cfg.display_name or spec.project.name,
            "labels": {"mlready-project": spec.project.name}}


def deploy_body(spec: Any, cfg: VertexSpec, gpu: bool = False) -> dict[str, Any]:
    low, high = replicas(spec, cfg)
    return {
        "deployedModel": {
            "model": MODEL_NAME_TEMPLATE,
            "displayName": f"{cfg.display_name or spec.project.name}-v{spec.model.version}",
            "dedicatedResources": {
                "machineSpec": {"machineType": cfg.machine_type, **accelerator(cfg, gpu)},
                "minReplicaCount": low,
                "maxReplicaCount": high,
                "autoscalingMetricSpecs": [{"metricName": CPU_METRIC, "target": cfg.cpu_target_percent}],
            },
        },
        "trafficSplit": dict(cfg.traffic),
    }


def deploy_script(header: str, spec: Any, cfg: VertexSpec, gpu: bool = False) -> str:
    name = cfg.display_name or spec.project.name
    low, high = replicas(spec, cfg)
    split = ",".join(f"{k}={v}" for k, v in cfg.traffic.items())
    where = '--project="$PROJECT" --region="$REGION"'
    acc = accelerator(cfg, gpu)
    gpus = f" --accelerator=type={acc['acceleratorType'].lower().replace('_', '-')},count={acc['acceleratorCount']}" \
        if acc else ""
    return shell_script(header, [
        "# Parameters: PROJECT and REGION (required), IMAGE_URI (default below). Credentials: `gcloud auth login`.",
        ': "${PROJECT:?set PROJECT}" "${REGION:?set REGION}"',
        f'IMAGE_URI="${{IMAGE_URI:-{image_reference(spec, cfg.image)}}}"',
        f"gcloud ai models upload {where} --display-name={q(name)} --container-image-uri=\"$IMAGE_URI\" "
        f"--container-ports={spec.section('serving').http_port} --container-health-route={q(cfg.health_route)} "
        f"--container-predict-route={q(cfg.predict_route)}",
        f"MODEL_ID=\"$(gcloud ai models list {where} --filter=display_name={q(name)} "
        "--sort-by=~createTime --limit=1 --format='value(name)')\"",
        f"ENDPOINT_ID=\"$(gcloud ai endpoints list {where} --filter=display_name={q(name)} --limit=1 "
        "--format='value(name)')\"",
        'if [ -z "$ENDPOINT_ID" ]; then',
        f"  gcloud ai endpoints create {where} --display-name={q(name)}",
        f"  ENDPOINT_ID=\"$(gcloud ai endpoints list {where} --filter=display_name={q(name)} --limit=1 "
        "--format='value(name)')\"",
        "fi",
        f"gcloud ai endpoints deploy-model \"$ENDPOINT_ID\" {where} --model=\"$MODEL_ID\" "
        f"--display-name={q(f'{name}-v{spec.model.version}')} --machine-type={q(cfg.machine_type)} "
        f"--min-replica-count={low} --max-replica-count={high}{gpus} "
        f"--autoscaling-metric-specs=cpu-usage={cfg.cpu_target_percent} --traffic-split={q(split)}",
    ])


class VertexGenerator(Generator[VertexSpec]):
    name = "vertex"
    group = "target"
    section = "target.vertex"
    config_model = VertexSpec
    description = "Vertex AI model upload and endpoint deployment (API JSON and gcloud script)"

    def validate(self, spec: Any) -> list[SpecProblem]:
        cfg = self.config(spec)
        problems = require_cloud_contract(spec, "vertex", "vertex")
        for key in cfg.traffic:
            if not key.isdigit():
                problems.append(SpecProblem("", f"{self.section}.traffic.{key}", "keys are '0' (this deployment) "
                                            "or the numeric id of a model deployed on the endpoint"))
        if docker_variant(spec) == "gpu" and not accelerator(cfg, True):
            problems.append(SpecProblem("", f"{self.section}.machine_type", f"{cfg.machine_type!r} has no GPU, and "
                                        "target.docker builds the GPU image; use a g2 machine type, or set "
                                        f"{self.section}.accelerator_type on an n1 one (one of "
                                        f"{', '.join(catalog.VERTEX_ACCELERATORS)}), or target.docker.variant=cpu"))
        elif cfg.accelerator_type and not cfg.machine_type.startswith("n1-") and cfg.accelerator_type not in [
                acc for prefix, acc in catalog.VERTEX_BUILT_IN_GPU.items() if cfg.machine_type.startswith(prefix)]:
            problems.append(SpecProblem("", f"{self.section}.accelerator_type", "only n1 machine types take an "
                                        f"attached accelerator; {cfg.machine_type!r} comes with its own or none"))
        low, high = replicas(spec, cfg)
        if high < low:
            problems.append(SpecProblem("", f"{self.section}.max_replicas", f"{high} is below min_replicas {low}"))
        return problems

    def steps(self, spec: Any) -> list[Step]:
        cfg = self.config(spec)
        gpu = docker_variant(spec) == "gpu"

        def run(ctx: StepContext) -> list[Artifact]:
            s = ctx.spec
            return [
                Artifact.json(f"{OUT}/model.json", "vertex-model", model_body(s, cfg)),
                Artifact.json(f"{OUT}/endpoint.json", "vertex-endpoint", endpoint_body(s, cfg)),
                Artifact.json(f"{OUT}/deploy-model.json", "vertex-deployment", deploy_body(s, cfg, gpu)),
                Artifact.text(f"{OUT}/deploy.sh", "vertex-script", deploy_script("#!/bin/sh\n" + ctx.header("#"),
                              s, cfg, gpu), mode=0o755),
            ]

        return [Step(id="vertex.deployment", run=run,
                     reads=("project", "model.name", "model.version", "serving", "target.docker"),
                     config={"cfg": cfg, "project": spec.project, "model": spec.model_name,
                             "version": spec.model.version, "image": image_reference(spec, cfg.image),
                             "serving": spec.section("serving"), "gpu": gpu},
                     description="Vertex AI model upload and endpoint deployment")]
