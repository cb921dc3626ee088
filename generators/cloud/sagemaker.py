"""``+target=sagemaker``: a CloudFormation template for a SageMaker real-time (or serverless) endpoint.

``sagemaker/endpoint.cfn.yaml`` (kind ``sagemaker-cloudformation``): a model (the mlready image, which
answers SageMaker's ``GET /ping`` and ``POST /invocations`` on port 8080), an endpoint config (instance type
and count, or serverless memory and concurrency), the endpoint and, for instance endpoints, a target-tracking
autoscaling policy on invocations per instance. The image URI, the execution role and the endpoint name are
CloudFormation parameters: nothing account-specific is written. Deploy with::

    aws cloudformation deploy --template-file build/sagemaker/endpoint.cfn.yaml --stack-name churn \
      --parameter-overrides ExecutionRoleArn=arn:aws:iam::<account>:role/<role> ImageUri=<ecr image>
"""

from __future__ import annotations

from typing import Any, Literal

from mlready.engine.errors import SpecProblem
from mlready.engine.plugin import Artifact, Generator, Section, Step, StepContext
from mlready.generators._shared import cloud_catalog as catalog
from mlready.generators._shared.cloud import require_cloud_contract
from mlready.generators._shared.facts import check_image, docker_variant, image_reference
from pydantic import Field, field_validator

PATH = "sagemaker/endpoint.cfn.yaml"
KIND = "sagemaker-cloudformation"
VARIANT = "AllTraffic"
PRICING = "https://aws.amazon.com/sagemaker/pricing/"
ROLE_PATTERN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$"


class ServerlessSpec(Section):
    memory_mb: int = Field(2048, description="1024..6144 in steps of 1024")
    max_concurrency: int = Field(5, ge=1, le=catalog.SAGEMAKER_SERVERLESS_MAX_CONCURRENCY)

    @field_validator("memory_mb")
    @classmethod
    def _memory(cls, v: int) -> int:
        if v not in catalog.SAGEMAKER_SERVERLESS_MEMORY_MB:
            raise ValueError(f"serverless memory is one of {list(catalog.SAGEMAKER_SERVERLESS_MEMORY_MB)} MB, got {v}")
        return v


class AutoscalingSpec(Section):
    enabled: bool = True
    min_instances: int = Field(1, ge=1)
    max_instances: int = Field(2, ge=1)
    invocations_per_instance: float = Field(
        100.0, gt=0, description="target of SageMakerVariantInvocationsPerInstance (invocations per minute)")
    scale_in_cooldown_s: int = Field(300, ge=0)
    scale_out_cooldown_s: int = Field(60, ge=0)


class SageMakerSpec(Section):
    """Enabled by ``+target=sagemaker``."""

    enabled: bool = False
    mode: Literal["instance", "serverless"] = "instance"
    instance_type: str = Field("ml.m5.large", description=f"a real-time inference instance type ({PRICING})")
    instance_count: int | None = Field(None, ge=1, description="initial instances; default serving.replicas")
    serverless: ServerlessSpec = Field(default_factory=ServerlessSpec)
    autoscaling: AutoscalingSpec = Field(default_factory=AutoscalingSpec)
    image: str | None = Field(None, description="default of the ImageUri parameter; default "
                              "<target.docker.registry>/<project>:<version>")
    endpoint_name: str | None = Field(None, pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$",
                                      description="default of the EndpointName parameter; default project.name")

    _image = field_validator("image")(classmethod(lambda cls, v: check_image(v)))

    @field_validator("instance_type")
    @classmethod
    def _instance(cls, v: str) -> str:
        return catalog.check_choice(v, catalog.SAGEMAKER_INSTANCE_TYPES, "SageMaker instance type", PRICING)


def _variant(cfg: SageMakerSpec, count: int) -> dict[str, Any]:
    variant: dict[str, Any] = {"VariantName": VARIANT, "ModelName": {"Fn::GetAtt": ["Model", "ModelName"]},
                               "InitialVariantWeight": 1.0}
    if cfg.mode == "serverless":
        variant["ServerlessConfig"] = {"MemorySizeInMB": cfg.serverless.memory_mb,
                                       "MaxConcurrency": cfg.serverless.max_concurrency}
    else:
        variant.update(InstanceType=cfg.instance_type, InitialInstanceCount=count)
    return variant


def _autoscaling(cfg: SageMakerSpec, name: str) -> dict[str, Any]:
    auto = cfg.autoscaling
    return {
        "ScalableTarget": {
            "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
            "Properties": {
                "MinCapacity": auto.min_instances,
                "MaxCapacity": auto.max_instances,
                "ResourceId": {"Fn::Sub": f"endpoint/${{Endpoint.EndpointName}}/variant/{VARIANT}"},
                "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
                "ServiceNamespace": "sagemaker",
            },
        },
        "ScalingPolicy": {
            "Type": "AWS::ApplicationAutoScaling::ScalingPolicy",
            "Properties": {
                "PolicyName": f"{name}-invocations-per-instance",
                "PolicyType": "TargetTrackingScaling",
                "ScalingTargetId": {"Ref": "ScalableTarget"},
                "TargetTrackingScalingPolicyConfiguration": {
                    "TargetValue": auto.invocations_per_instance,
                    "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
                    "ScaleInCooldown": auto.scale_in_cooldown_s,
                    "ScaleOutCooldown": auto.scale_out_cooldown_s,
                },
            },
        },
    }


def template(spec: Any, cfg: SageMakerSpec) -> dict[str, Any]:
    name = cfg.endpoint_name or spec.project.name
    count = cfg.instance_count or spec.section("serving").replicas
    tags = [{"Key": "mlready:project", "Value": spec.project.name},
            {"Key": "mlready:version", "Value": spec.project.version}]
    resources: dict[str, Any] = {
        "Model": {"Type": "AWS::SageMaker::Model", "Properties": {
            "ExecutionRoleArn": {"Ref": "ExecutionRoleArn"},
            "PrimaryContainer": {"Image": {"Ref": "ImageUri"}, "Mode": "SingleModel"},
            "Tags": tags}},
        "EndpointConfig": {"Type": "AWS::SageMaker::EndpointConfig", "Properties": {
            "ProductionVariants": [_variant(cfg, count)], "Tags": tags}},
        "Endpoint": {"Type": "AWS::SageMaker::Endpoint", "Properties": {
            "EndpointName": {"Ref": "EndpointName"},
            "EndpointConfigName": {"Fn::GetAtt": ["EndpointConfig", "EndpointConfigName"]},
            "Tags": tags}},
    }
    if cfg.mode == "instance" and cfg.autoscaling.enabled:
        resources.update(_autoscaling(cfg, name))
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"SageMaker endpoint for {spec.model_name} v{spec.model.version} "
                       f"({spec.project.name} {spec.project.version}), generated by mlready",
        "Parameters": {
            "ImageUri": {"Type": "String", "Default": image_reference(spec, cfg.image),
                         "Description": "the mlready model-server image in ECR (repository:tag or @digest)"},
            "ExecutionRoleArn": {"Type": "String", "AllowedPattern": ROLE_PATTERN,
                                 "Description": "IAM role SageMaker assumes to pull the image and write logs"},
            "EndpointName": {"Type": "String", "Default": name, "AllowedPattern": r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"},
        },
        "Resources": resources,
        "Outputs": {"EndpointName": {"Value": {"Fn::GetAtt": ["Endpoint", "EndpointName"]}}},
    }


class SageMakerGenerator(Generator[SageMakerSpec]):
    name = "sagemaker"
    group = "target"
    section = "target.sagemaker"
    config_model = SageMakerSpec
    description = "AWS SageMaker endpoint as a CloudFormation template (model, endpoint config, autoscaling)"

    def validate(self, spec: Any) -> list[SpecProblem]:
        cfg = self.config(spec)
        problems = require_cloud_contract(spec, "sagemaker", "sagemaker", port=8080)
        if docker_variant(spec) == "gpu":  # the GPU image needs a GPU instance (serverless has none)
            if cfg.mode == "serverless":
                problems.append(SpecProblem("", f"{self.section}.mode", "serverless endpoints have no GPU, and "
                                            "target.docker builds the GPU image; use mode 'instance' with a GPU "
                                            "instance type, or target.docker.variant=cpu"))
            elif why := catalog.gpu_instance_problem(cfg.instance_type, catalog.SAGEMAKER_GPU_INSTANCE_TYPES):
                problems.append(SpecProblem("", f"{self.section}.instance_type", why))
        auto = cfg.autoscaling
        if cfg.mode == "instance" and auto.enabled:
            count = cfg.instance_count or spec.section("serving").replicas
            if auto.min_instances > auto.max_instances:
                problems.append(SpecProblem("", f"{self.section}.autoscaling.min_instances",
                                            f"{auto.min_instances} is above max_instances {auto.max_instances}"))
            elif not auto.min_instances <= count <= auto.max_instances:
                key = f"{self.section}.instance_count" if cfg.instance_count else "serving.replicas"
                problems.append(SpecProblem("", key, f"{count} instances is outside the autoscaling range "
                                            f"{auto.min_instances}..{auto.max_instances}"))
        return problems

    def steps(self, spec: Any) -> list[Step]:
        cfg = self.config(spec)

        def run(ctx: StepContext) -> list[Artifact]:
            return [Artifact.yaml(PATH, KIND, template(ctx.spec, cfg), header=ctx.header("#"))]

        return [Step(id="sagemaker.template", run=run,
                     reads=("project", "model.name", "model.version", "serving", "target.docker"),
                     config={"cfg": cfg, "project": spec.project, "model": spec.model_name,
                             "version": spec.model.version, "image": image_reference(spec, cfg.image),
                             "replicas": spec.section("serving").replicas},
                     description="SageMaker endpoint CloudFormation template")]
