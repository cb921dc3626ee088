"""Azure ML batch endpoint: a batch endpoint, a pipeline-component deployment whose one step runs the image's
scorer (a command job: Azure ML mounts the input folder and the output folder and runs the command in the
image), and the inputs of an invocation. Model deployments need Azure's batch driver (``azureml-core``) in the
image; a pipeline component runs any image, so the same scorer (keep columns, bad-row policy) runs here as in
the Kubernetes Job.

- ``endpoint.yml`` (``az ml batch-endpoint create --file``), ``deployment.yml`` +
  ``pipeline.yml`` (``az ml batch-deployment create --file deployment.yml --set-default``);
- ``inputs.yml``: ``az ml batch-endpoint invoke --name <endpoint> --file inputs.yml`` (input and output
  locations from the spec).
"""

from __future__ import annotations

import shlex
from typing import Any

from mlready.generators.batch.spec import BatchSpec

SCHEMA = "https://azuremlschemas.azureedge.net/latest/{}.schema.json"
PYTHON = "/opt/venv/bin/python"  # the image's interpreter (the ENTRYPOINT's)


def endpoint_name(spec: Any, cfg: BatchSpec) -> str:
    return cfg.azureml.endpoint_name or f"{spec.project.name}-batch"[:32]


def endpoint(spec: Any, cfg: BatchSpec) -> dict[str, Any]:
    return {
        "$schema": SCHEMA.format("batchEndpoint"),
        "name": endpoint_name(spec, cfg),
        "description": f"batch scoring of {spec.model_name} v{spec.model.version} ({spec.project.name} "
                       f"{spec.project.version})",
        "auth_mode": "aad_token",
    }


def deployment(spec: Any, cfg: BatchSpec) -> dict[str, Any]:
    return {
        "$schema": SCHEMA.format("pipelineComponentBatchDeployment"),
        "name": "score",
        "endpoint_name": endpoint_name(spec, cfg),
        "type": "pipeline",
        "component": "pipeline.yml",
        "settings": {"default_compute": cfg.azureml.compute, "continue_on_step_failure": False},
        "tags": {"mlready-project": spec.project.name, "mlready-version": spec.project.version},
    }


#: what the command's arguments name the mounted input and output by (Azure ML substitutes them)
INPUT, OUTPUT = "${{inputs.data}}", "${{outputs.predictions}}/predictions.parquet"


def input_kind(input_uri: str) -> str:
    return "uri_folder" if input_uri.endswith("/") else "uri_file"


def pipeline(spec: Any, image: str, score_args: list[str], kind: str) -> dict[str, Any]:
    """``score_args``: the image's score arguments over :data:`INPUT` and :data:`OUTPUT`; ``kind``: the
    input's type (a folder or one file)."""
    name = spec.project.name.replace("-", "_")
    command = shlex.join([PYTHON, "-m", "mlready.runtime.score", *score_args[1:]])
    io = {"inputs": {"data": {"type": kind}}, "outputs": {"predictions": {"type": "uri_folder"}}}
    return {
        "$schema": SCHEMA.format("pipelineComponent"),
        "type": "pipeline",
        "name": f"{name}_batch_score",
        "version": str(spec.model.version),
        **io,
        "jobs": {"score": {
            "type": "command",
            "component": {
                "$schema": SCHEMA.format("commandComponent"),
                "type": "command",
                "name": f"{name}_score",
                "version": str(spec.model.version),
                **io,
                "environment": {"image": image},
                "environment_variables": {"HOME": "/tmp"},
                "command": command,
            },
            "inputs": {"data": "${{parent.inputs.data}}"},
            "outputs": {"predictions": "${{parent.outputs.predictions}}"},
        }},
    }


def invoke_inputs(input_uri: str, output_uri: str) -> dict[str, Any]:
    return {
        "inputs": {"data": {"type": input_kind(input_uri), "path": input_uri}},
        "outputs": {"predictions": {"type": "uri_folder", "path": output_uri}},
    }
