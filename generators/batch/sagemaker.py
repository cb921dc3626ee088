"""SageMaker Batch Transform: CloudFormation has no transform-job resource, so the job is written as the
request bodies of the SageMaker API, for ``aws sagemaker <operation> --cli-input-json file://...``:

- ``model.json``: ``CreateModel`` (the mlready image; SageMaker starts it as ``<image> serve``, which the
  runtime accepts);
- ``transform-job.json``: ``CreateTransformJob``. SageMaker reads the ``s3://`` input, splits the files into
  lines and POSTs them as ``text/csv`` to the container's ``/invocations``, which takes CSV rows in the
  model's feature order (a header line naming the features is recognised and skipped); the answers
  (``{"predictions": [...]}``, one JSON document per request) land under the ``s3://`` output prefix as
  ``<input file>.out``.

The execution role and the job name are placeholders the CLI replaces on its command line
(``--execution-role-arn``, ``--transform-job-name``): nothing account-specific is written.
"""

from __future__ import annotations

from typing import Any

from mlready.generators.batch.spec import BatchSpec

ROLE_PLACEHOLDER = "arn:aws:iam::000000000000:role/replace-with-execution-role"


def model_name(spec: Any) -> str:
    return f"{spec.project.name}-{spec.project.version}".replace(".", "-").replace("_", "-")[:63]


def create_model(spec: Any, image: str) -> dict[str, Any]:
    return {
        "ModelName": model_name(spec),
        "PrimaryContainer": {"Image": image, "Mode": "SingleModel"},
        "ExecutionRoleArn": ROLE_PLACEHOLDER,
        "Tags": _tags(spec),
    }


def create_transform_job(spec: Any, cfg: BatchSpec, input_uri: str, output_uri: str) -> dict[str, Any]:
    s = cfg.sagemaker
    return {
        "TransformJobName": f"{model_name(spec)}-batch"[:63],
        "ModelName": model_name(spec),
        "MaxConcurrentTransforms": s.max_concurrent_transforms,
        "MaxPayloadInMB": s.max_payload_mb,
        "BatchStrategy": "MultiRecord",
        "ModelClientConfig": {"InvocationsTimeoutInSeconds": 600, "InvocationsMaxRetries": 1},
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}},
            "ContentType": "text/csv",
            "CompressionType": "None",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": output_uri, "Accept": "application/json", "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": s.instance_type, "InstanceCount": s.instance_count},
        "Tags": _tags(spec),
    }


def _tags(spec: Any) -> list[dict[str, str]]:
    return [{"Key": "mlready-project", "Value": spec.project.name},
            {"Key": "mlready-version", "Value": spec.project.version}]
