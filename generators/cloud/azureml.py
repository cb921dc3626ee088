"""``+target=azureml``: an Azure ML managed online endpoint and its deployments (blue/green) as CLI v2 YAML.

- ``azureml/endpoint.yml`` (kind ``azureml-endpoint``): name, auth mode and the traffic split;
- ``azureml/deployment-<name>.yml`` (kind ``azureml-deployment``), one per deployment in the split: the
  mlready image as a custom container whose liveness, readiness and scoring routes and port are the runtime's
  (``/v2/health/live``, ``/v2/health/ready``, ``serving.cloud.azure_route`` on ``serving.http_port``),
  instance type and count, request settings and probes;
- ``azureml/deploy.sh`` (kind ``azureml-script``): the ``az ml`` commands in the order Azure needs (endpoint,
  deployments, then traffic). Workspace, resource group and the image are parameters (environment variables).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from mlready.engine.errors import SpecProblem
from mlready.engine.plugin import Artifact, Generator, Section, Step, StepContext
from mlready.generators._shared import cloud_catalog as catalog
from mlready.generators._shared.cloud import require_cloud_contract
from mlready.generators._shared.facts import check_image, docker_variant, image_reference
from mlready.generators.cloud.common import q, shell_script
from pydantic import Field, field_validator

OUT = "azureml"
SKU_LIST = "https://learn.microsoft.com/azure/machine-learning/reference-managed-online-endpoints-vm-sku-list"
SCHEMA = "https://azuremlschemas.azureedge.net/latest/{}.schema.json"
NAME = r"^[a-zA-Z][a-zA-Z0-9-]{1,30}[a-zA-Z0-9]$"  # endpoint and deployment names: 3..32 characters


class ProbeSpec(Section):
    initial_delay: int = Field(10, ge=0, description="seconds before the first probe")
    period: int = Field(10, ge=1)
    timeout: int = Field(2, ge=1)
    success_threshold: int = Field(1, ge=1)
    failure_threshold: int = Field(30, ge=1)


class RequestSettingsSpec(Section):
    request_timeout_ms: int = Field(5000, ge=1, le=180_000)
    max_concurrent_requests_per_instance: int = Field(1, ge=1)


class AzureMLSpec(Section):
    """Enabled by ``+target=azureml``."""

    enabled: bool = False
    endpoint_name: str | None = Field(None, pattern=NAME, description="default project.name (globally unique "
                                      "within the Azure region)")
    auth_mode: Literal["key", "aml_token"] = "key"
    instance_type: str = Field("Standard_DS3_v2", description=f"a managed online endpoint VM SKU ({SKU_LIST})")
    instance_count: int | None = Field(None, ge=1, description="instances per deployment; default serving.replicas")
    traffic: dict[str, int] = Field({"blue": 100}, description="deployment name -> percent of traffic (sum 100)")
    image: str | None = Field(None, description="default <target.docker.registry>/<project>:<version>")
    request_settings: RequestSettingsSpec = Field(default_factory=RequestSettingsSpec)
    liveness_probe: ProbeSpec = Field(default_factory=ProbeSpec)
    readiness_probe: ProbeSpec = Field(default_factory=lambda: ProbeSpec(failure_threshold=3))

    _image = field_validator("image")(classmethod(lambda cls, v: check_image(v)))
    _traffic = field_validator("traffic")(classmethod(lambda cls, v: catalog.check_traffic(v)))

    @field_validator("instance_type")
    @classmethod
    def _instance(cls, v: str) -> str:
        return catalog.check_choice(v, catalog.AZUREML_INSTANCE_TYPES, "Azure ML managed online VM SKU", SKU_LIST)


def endpoint(spec: Any, cfg: AzureMLSpec) -> dict[str, Any]:
    return {
        "$schema": SCHEMA.format("managedOnlineEndpoint"),
        "name": cfg.endpoint_name or spec.project.name,
        "description": f"{spec.model_name} v{spec.model.version} ({spec.project.name} {spec.project.version})",
        "auth_mode": cfg.auth_mode,
        "traffic": dict(cfg.traffic),
        "tags": {"mlready-project": spec.project.name, "mlready-version": spec.project.version},
    }


def deployment(spec: Any, cfg: AzureMLSpec, name: str) -> dict[str, Any]:
    srv = spec.section("serving")
    port = srv.http_port
    return {
        "$schema": SCHEMA.format("managedOnlineDeployment"),
        "name": name,
        "endpoint_name": cfg.endpoint_name or spec.project.name,
        "environment": {
            "name": f"{spec.project.name}-runtime",
            "image": image_reference(spec, cfg.image),
            "inference_config": {
                "liveness_route": {"port": port, "path": "/v2/health/live"},
                "readiness_route": {"port": port, "path": "/v2/health/ready"},
                "scoring_route": {"port": port, "path": srv.cloud.azure_route},
            },
        },
        "instance_type": cfg.instance_type,
        "instance_count": cfg.instance_count or srv.replicas,
        "request_settings": cfg.request_settings.model_dump(mode="json"),
        "liveness_probe": cfg.liveness_probe.model_dump(mode="json"),
        "readiness_probe": cfg.readiness_probe.model_dump(mode="json"),
        "tags": {"mlready-project": spec.project.name, "mlready-version": spec.project.version},
    }


def deploy_script(header: str, spec: Any, cfg: AzureMLSpec) -> str:
    name = cfg.endpoint_name or spec.project.name
    traffic = " ".join(f"{k}={v}" for k, v in cfg.traffic.items())
    lines = [
        "# Parameters: AZURE_RESOURCE_GROUP and AZURE_ML_WORKSPACE (required), IMAGE (default below).",
        "# Credentials come from `az login`; none are stored here.",
        ': "${AZURE_RESOURCE_GROUP:?set AZURE_RESOURCE_GROUP}" "${AZURE_ML_WORKSPACE:?set AZURE_ML_WORKSPACE}"',
        f"IMAGE=\"${{IMAGE:-{image_reference(spec, cfg.image)}}}\"",
        'here="$(cd "$(dirname "$0")" && pwd)"',
        'ws="--resource-group $AZURE_RESOURCE_GROUP --workspace-name $AZURE_ML_WORKSPACE"',
        "# the endpoint first, without traffic: its deployments do not exist yet",
        f"az ml online-endpoint create $ws --file \"$here/endpoint.yml\" --set traffic={{}} || "
        f"az ml online-endpoint update $ws --name {q(name)} --file \"$here/endpoint.yml\" --set traffic={{}}",
    ]
    for dep in cfg.traffic:
        lines.append(f"az ml online-deployment create $ws --file \"$here/deployment-{dep}.yml\" "
                     f"--set environment.image=\"$IMAGE\" --all-traffic=false || "
                     f"az ml online-deployment update $ws --file \"$here/deployment-{dep}.yml\" "
                     f"--set environment.image=\"$IMAGE\"")
    lines.append(f"az ml online-endpoint update $ws --name {q(name)} --traffic {q(traffic)}")
    return shell_script(header, lines)


class AzureMLGenerator(Generator[AzureMLSpec]):
    name = "azureml"
    group = "target"
    section = "target.azureml"
    config_model = AzureMLSpec
    description = "Azure ML managed online endpoint and blue/green deployments (CLI v2 YAML)"

    def validate(self, spec: Any) -> list[SpecProblem]:
        cfg = self.config(spec)
        problems = require_cloud_contract(spec, "azureml", "azure_route")
        if docker_variant(spec) == "gpu" and (
                why := catalog.gpu_instance_problem(cfg.instance_type, catalog.AZUREML_GPU_INSTANCE_TYPES)):
            problems.append(SpecProblem("", f"{self.section}.instance_type", why))
        for dep in cfg.traffic:
            if not re.fullmatch(NAME, dep):
                problems.append(SpecProblem("", f"{self.section}.traffic.{dep}", "a deployment name has 3..32 "
                                            "letters, digits and '-', starting with a letter"))
        return problems

    def steps(self, spec: Any) -> list[Step]:
        cfg = self.config(spec)

        def run(ctx: StepContext) -> list[Artifact]:
            head = ctx.header("#")
            arts = [Artifact.yaml(f"{OUT}/endpoint.yml", "azureml-endpoint", endpoint(ctx.spec, cfg), header=head)]
            arts += [Artifact.yaml(f"{OUT}/deployment-{dep}.yml", "azureml-deployment",
                                   deployment(ctx.spec, cfg, dep), header=head) for dep in cfg.traffic]
            script = deploy_script("#!/bin/sh\n" + head, ctx.spec, cfg)
            arts.append(Artifact.text(f"{OUT}/deploy.sh", "azureml-script", script, mode=0o755))
            return arts

        return [Step(id="azureml.endpoint", run=run,
                     reads=("project", "model.name", "model.version", "serving", "target.docker"),
                     config={"cfg": cfg, "project": spec.project, "model": spec.model_name,
                             "version": spec.model.version, "image": image_reference(spec, cfg.image),
                             "serving": spec.section("serving")},
                     description="Azure ML online endpoint and deployments")]
