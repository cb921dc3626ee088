"""The instance and machine types the cloud targets accept: small, documented lists, checked at spec time.

These are not the providers' complete catalogues (those change every quarter and differ by region): they are
the general-purpose, compute- and memory-optimised CPU types and the common entry GPU types that each
provider documents for *real-time model serving* (and, for SageMaker, *batch transform*; Vertex AI's batch
prediction takes the same machine types as its online prediction), as listed on these pages (read November
2026); the cloud targets (generators/cloud) and the batch target's cloud jobs (generators/batch) check them:

- SageMaker real-time endpoints: https://aws.amazon.com/sagemaker/pricing/ ("Real-Time Inference" table) and
  https://docs.aws.amazon.com/sagemaker/latest/dg/instance-types-az.html. Serverless memory sizes and the
  concurrency limit: https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html.
- SageMaker batch transform: the "Batch Transform" table of the pricing page (tests/batch checks each type
  against botocore's ``TransformInstanceType`` enum).
- Azure ML managed online endpoints: https://learn.microsoft.com/azure/machine-learning/reference-managed-online-endpoints-vm-sku-list
- Vertex AI online prediction: https://cloud.google.com/vertex-ai/docs/predictions/configure-compute

A type missing here that the provider does offer is added to the tuple (one line, with the page above);
a typo such as ``ml.m5.larg`` is a spec error naming the key and the nearest known types.
"""

from __future__ import annotations

import difflib

SAGEMAKER_INSTANCE_TYPES = (
    "ml.t2.medium", "ml.t2.large", "ml.t2.xlarge",
    "ml.m5.large", "ml.m5.xlarge", "ml.m5.2xlarge", "ml.m5.4xlarge", "ml.m5.12xlarge",
    "ml.m6i.large", "ml.m6i.xlarge", "ml.m6i.2xlarge", "ml.m6i.4xlarge",
    "ml.c5.large", "ml.c5.xlarge", "ml.c5.2xlarge", "ml.c5.4xlarge", "ml.c5.9xlarge",
    "ml.c6i.large", "ml.c6i.xlarge", "ml.c6i.2xlarge", "ml.c6i.4xlarge",
    "ml.r5.large", "ml.r5.xlarge", "ml.r5.2xlarge",
    "ml.g4dn.xlarge", "ml.g4dn.2xlarge", "ml.g5.xlarge", "ml.g5.2xlarge",
    "ml.inf2.xlarge",
)
SAGEMAKER_TRANSFORM_INSTANCE_TYPES = (
    "ml.m5.large", "ml.m5.xlarge", "ml.m5.2xlarge", "ml.m5.4xlarge", "ml.m5.12xlarge", "ml.m5.24xlarge",
    "ml.m4.xlarge", "ml.m4.2xlarge", "ml.m4.4xlarge", "ml.m4.10xlarge",
    "ml.c5.xlarge", "ml.c5.2xlarge", "ml.c5.4xlarge", "ml.c5.9xlarge", "ml.c5.18xlarge",
    "ml.c4.xlarge", "ml.c4.2xlarge", "ml.c4.4xlarge", "ml.c4.8xlarge",
    "ml.g4dn.xlarge", "ml.g4dn.2xlarge", "ml.p3.2xlarge",
)
#: serverless endpoints: memory in MB (1 GB steps) and the largest max concurrency per endpoint
SAGEMAKER_SERVERLESS_MEMORY_MB = (1024, 2048, 3072, 4096, 5120, 6144)
SAGEMAKER_SERVERLESS_MAX_CONCURRENCY = 200

AZUREML_INSTANCE_TYPES = (
    "Standard_DS1_v2", "Standard_DS2_v2", "Standard_DS3_v2", "Standard_DS4_v2", "Standard_DS5_v2",
    "Standard_F2s_v2", "Standard_F4s_v2", "Standard_F8s_v2", "Standard_F16s_v2", "Standard_F32s_v2",
    "Standard_E2s_v3", "Standard_E4s_v3", "Standard_E8s_v3", "Standard_E16s_v3",
    "Standard_D2as_v4", "Standard_D4as_v4", "Standard_D8as_v4",
    "Standard_NC4as_T4_v3", "Standard_NC8as_T4_v3", "Standard_NC6s_v3",
)

VERTEX_MACHINE_TYPES = (
    "n1-standard-2", "n1-standard-4", "n1-standard-8", "n1-standard-16", "n1-standard-32",
    "n1-highmem-2", "n1-highmem-4", "n1-highmem-8", "n1-highcpu-4", "n1-highcpu-8", "n1-highcpu-16",
    "e2-standard-2", "e2-standard-4", "e2-standard-8", "e2-standard-16",
    "e2-highmem-2", "e2-highmem-4", "e2-highcpu-4", "e2-highcpu-8",
    "n2-standard-2", "n2-standard-4", "n2-standard-8", "n2-standard-16",
    "c2-standard-4", "c2-standard-8", "c2-standard-16",
    "g2-standard-4", "g2-standard-8",
)


#: the GPU types of the lists above: the GPU image (``target.docker.variant``) needs one of them
SAGEMAKER_GPU_INSTANCE_TYPES = tuple(t for t in SAGEMAKER_INSTANCE_TYPES if t.startswith(("ml.g4dn.", "ml.g5.")))
AZUREML_GPU_INSTANCE_TYPES = tuple(t for t in AZUREML_INSTANCE_TYPES if t.startswith("Standard_NC"))
#: Vertex AI: a2/g2 machines come with their GPU; n1 machines take one of these accelerators
#: (https://cloud.google.com/vertex-ai/docs/predictions/configure-compute#gpus)
VERTEX_ACCELERATORS = ("NVIDIA_TESLA_T4", "NVIDIA_TESLA_P4", "NVIDIA_TESLA_P100", "NVIDIA_TESLA_V100", "NVIDIA_L4")
VERTEX_BUILT_IN_GPU = {"g2-": "NVIDIA_L4"}


def gpu_instance_problem(value: str, gpu_types: tuple[str, ...]) -> str | None:
    """Why ``value`` cannot run the GPU image, or None when it has a GPU."""
    if value in gpu_types:
        return None
    return (f"{value!r} has no GPU, and target.docker builds the GPU image (onnxruntime-gpu for the CUDA/TensorRT "
            f"providers); use one of {', '.join(gpu_types)}, or target.docker.variant=cpu")


def check_choice(value: str, allowed: tuple[str, ...], what: str, source: str) -> str:
    """``value`` if it is in ``allowed``, else a ValueError naming the nearest choices and where the list is from."""
    if value in allowed:
        return value
    near = difflib.get_close_matches(value, allowed, n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(repr(n) for n in near)}?" if near else f"known: {', '.join(allowed)}"
    raise ValueError(f"{value!r} is not a {what} mlready knows ({hint}); the list is in "
                     f"mlready.generators._shared.cloud_catalog, from {source}")


def check_traffic(traffic: dict[str, int]) -> dict[str, int]:
    """A traffic split: non-empty, each share 0..100, summing to exactly 100."""
    if not traffic:
        raise ValueError("give at least one deployment with its share of traffic, e.g. {blue: 100}")
    bad = {k: v for k, v in traffic.items() if not 0 <= v <= 100}
    if bad:
        raise ValueError(f"each share is a percentage 0..100, got {bad}")
    total = sum(traffic.values())
    if total != 100:
        shares = " + ".join(f"{k}={v}" for k, v in traffic.items())
        raise ValueError(f"the traffic split must sum to 100, got {shares} = {total}")
    return traffic
