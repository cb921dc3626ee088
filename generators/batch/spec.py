"""The ``target.batch`` section: what to score, where the predictions go, when, and on which platforms.

```yaml
target:
  batch:
    platforms: [k8s]                        # k8s | sagemaker | vertex | azureml (any of them)
    input: pvc://churn-data/incoming/       # a CSV/Parquet file or folder
    output: pvc://churn-data/scored/predictions.parquet
    keep: [customer_id]                     # columns copied to the output (default: every non-feature column)
    bad_rows: fail                          # fail | skip (skipped rows and their reason go to a side file)
    schedule: "0 2 * * *"                   # cron (5 fields): the k8s CronJob; null: the Job only
    sagemaker: {input: s3://bucket/in/, output: s3://bucket/out/, instance_type: ml.m5.large}
```

Each platform reads its own kind of location, so ``input``/``output`` may be set per platform
(``target.batch.<platform>.input``); a platform without its own takes the shared one. The schemes: k8s
``pvc://<claim>/<path>`` (a PersistentVolumeClaim mounted into the pod: the scorer reads local paths only),
SageMaker ``s3://``, Vertex AI ``gs://`` (or ``bq://`` for a BigQuery table), Azure ML ``azureml://`` (a
datastore path) or ``https://`` (a blob URL).
"""

from __future__ import annotations

import re
from typing import Literal
from zoneinfo import available_timezones

from mlready.engine.plugin import Section
from mlready.generators._shared import cloud_catalog as catalog
from mlready.generators._shared.cron import check_cron
from mlready.generators._shared.facts import check_image
from mlready.generators._shared.k8s_spec import check_quantity
from pydantic import Field, field_validator

Platform = Literal["k8s", "sagemaker", "vertex", "azureml"]
#: the location schemes each platform reads (see the module docstring)
SCHEMES: dict[str, tuple[str, ...]] = {
    "k8s": ("pvc://",),
    "sagemaker": ("s3://",),
    "vertex": ("gs://", "bq://"),
    "azureml": ("azureml://", "https://"),
}
#: a location: scheme, then no whitespace, quotes, backslashes, shell/YAML specials, query strings or user info
#: (a SAS token or a password does not belong in a build)
_LOCATION = re.compile(r"^[a-z0-9]+://[A-Za-z0-9._~/:=+*-]+$")  # '*': Vertex AI's gs:// wildcards
#: a column name the scorer copies (``--keep``): printable, no newline, not starting with '-' (an option to the
#: scorer's command line)
_COLUMN = re.compile(r"^[^\x00-\x1f\x7f-][^\x00-\x1f\x7f]{0,255}$")
PVC = re.compile(r"^pvc://(?P<claim>[a-z0-9]([-a-z0-9]{0,251}[a-z0-9])?)(?P<path>/[^\x00]*)?$")


def check_location(value: str | None) -> str | None:
    if value is None:
        return None
    if not _LOCATION.match(value) or "/../" in f"{value}/" or "/./" in f"{value}/":
        raise ValueError(f"{value!r} is not a location like 'pvc://claim/path', 's3://bucket/prefix/', "
                         "'gs://bucket/in/*.jsonl', 'bq://project.dataset.table' or 'azureml://datastores/<name>/paths/<path>' "
                         "(no spaces, quotes or '..')")
    return value


class PlatformSpec(Section):
    """What every platform may set for itself: its own input and output locations."""

    input: str | None = Field(None, description="default: target.batch.input")
    output: str | None = Field(None, description="default: target.batch.output")

    _loc = field_validator("input", "output")(classmethod(lambda cls, v: check_location(v)))


class K8sJobSpec(PlatformSpec):
    """The Kubernetes CronJob and Job (the pod's image, hardening and resources are the Deployment's:
    ``target.k8s``, the current environment's ``resources``)."""

    backoff_limit: int = Field(2, ge=0, le=20, description="pod retries before the Job fails")
    active_deadline_seconds: int = Field(6 * 3600, ge=60, description="the Job is stopped after this long")
    ttl_seconds_after_finished: int | None = Field(
        7 * 86400, ge=0, description="finished Jobs (and their pods' logs) are deleted after this; null: kept")
    starting_deadline_seconds: int = Field(
        3600, ge=10, description="a run missed by more than this (controller down, previous run still going) is skipped")
    successful_jobs_history: int = Field(3, ge=0, le=100)
    failed_jobs_history: int = Field(3, ge=0, le=100)
    time_zone: str = Field("Etc/UTC", description="the CronJob's timeZone (an IANA name)")
    tmp_size: str = Field("1Gi", description="size limit of /tmp (the scorer's bad-row and temporary files)")

    _tmp = field_validator("tmp_size")(classmethod(lambda cls, v: check_quantity(v)))

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, v: str) -> str:
        if v not in available_timezones():
            raise ValueError(f"{v!r} is not an IANA time zone name (e.g. 'Etc/UTC', 'Europe/Berlin')")
        return v


class SageMakerBatchSpec(PlatformSpec):
    """A SageMaker Batch Transform job (``CreateTransformJob``) over the model ``CreateModel`` registers."""

    instance_type: str = Field("ml.m5.large", description="a batch transform instance type")
    instance_count: int = Field(1, ge=1, le=100)
    max_payload_mb: int = Field(6, ge=1, le=100, description="largest request the job sends (MaxPayloadInMB)")
    max_concurrent_transforms: int = Field(2, ge=1, le=64, description="requests in flight per instance")

    @field_validator("instance_type")
    @classmethod
    def _instance(cls, v: str) -> str:
        return catalog.check_choice(v, catalog.SAGEMAKER_TRANSFORM_INSTANCE_TYPES, "SageMaker batch transform "
                                    "instance type", "https://aws.amazon.com/sagemaker/pricing/")


class VertexBatchSpec(PlatformSpec):
    """A Vertex AI ``BatchPredictionJob`` of the model uploaded with the image (``+target=vertex``'s model)."""

    machine_type: str = Field("n1-standard-2", description="a Vertex AI prediction machine type")
    starting_replica_count: int = Field(1, ge=1)
    max_replica_count: int = Field(2, ge=1)
    batch_size: int = Field(64, ge=1, le=10000, description="instances per request to the container")
    instances_format: Literal["auto", "jsonl", "csv", "bigquery"] = Field(
        "auto", description="auto: bigquery for bq://, csv for *.csv, else jsonl")

    @field_validator("machine_type")
    @classmethod
    def _machine(cls, v: str) -> str:
        return catalog.check_choice(v, catalog.VERTEX_MACHINE_TYPES, "Vertex AI prediction machine type",
                                    "https://cloud.google.com/vertex-ai/docs/predictions/configure-compute")


class AzureMLBatchSpec(PlatformSpec):
    """An Azure ML batch endpoint and a pipeline-component deployment running the image's ``score``."""

    endpoint_name: str | None = Field(None, pattern=r"^[a-zA-Z][a-zA-Z0-9-]{1,30}[a-zA-Z0-9]$",
                                      description="default '<project>-batch' (unique within the region)")
    compute: str = Field("cpu-cluster", pattern=r"^[a-zA-Z][a-zA-Z0-9-]{1,30}[a-zA-Z0-9]$",
                         description="the AmlCompute cluster the job runs on (its VM size is the cluster's; the "
                         "scorer runs on one node, using its cores)")


def _k8s() -> list[Platform]:
    return ["k8s"]


class BatchSpec(Section):
    """``target.batch`` (``+target=batch``): batch scoring with the built image (see generators/batch)."""

    enabled: bool = False
    platforms: list[Platform] = Field(default_factory=_k8s, min_length=1,
                                      description="where the batch job runs")
    input: str | None = Field(None, description="the rows to score; default for k8s: pvc://<project>-batch/input/")
    output: str | None = Field(
        None, description="where predictions go; default for k8s: pvc://<project>-batch/output/predictions.parquet")
    keep: list[str] = Field(default_factory=list, description="input columns copied to the output; empty: the "
                            "scorer's default (every column that is not a feature)")
    bad_rows: Literal["fail", "skip"] = Field("fail", description="fail: stop naming file/row/column; skip: "
                                              "score the rest, bad rows to a side file")
    schedule: str | None = Field("0 2 * * *", description="cron (5 fields) of the k8s CronJob; null: Job only")
    image: str | None = Field(None, description="the image every platform runs (repository:tag or @digest); "
                              "default: the built image — k8s: target.k8s.image or target.docker's, pinned by the "
                              "digest `mlready image` recorded; clouds: <target.docker.registry>/<project>:<version>")
    k8s: K8sJobSpec = Field(default_factory=K8sJobSpec)
    sagemaker: SageMakerBatchSpec = Field(default_factory=SageMakerBatchSpec)
    vertex: VertexBatchSpec = Field(default_factory=VertexBatchSpec)
    azureml: AzureMLBatchSpec = Field(default_factory=AzureMLBatchSpec)

    _loc = field_validator("input", "output")(classmethod(lambda cls, v: check_location(v)))
    _image = field_validator("image")(classmethod(lambda cls, v: check_image(v)))
    _cron = field_validator("schedule")(classmethod(lambda cls, v: v if v is None else check_cron(v)))

    @field_validator("platforms")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError(f"a platform is listed twice: {v}")
        return v

    @field_validator("keep")
    @classmethod
    def _columns(cls, v: list[str]) -> list[str]:
        bad = [c for c in v if not _COLUMN.match(c)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a column name (1..256 printable characters, not starting with '-')")
        if len(set(v)) != len(v):
            raise ValueError("a column is listed twice")
        return v
