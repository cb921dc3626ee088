"""Vertex AI batch prediction: ``batch-prediction-job.json``, the ``BatchPredictionJob`` body of
``projects.locations.batchPredictionJobs.create`` (``POST https://{region}-aiplatform.googleapis.com/v1/
projects/{project}/locations/{region}/batchPredictionJobs``).

It predicts with a Model resource whose container is the mlready image (``+target=vertex``'s
``vertex/model.json`` uploads it): ``model`` is the resource-name template
``projects/{project}/locations/{region}/models/{model_id}`` to fill in. Vertex reads the ``gs://`` files (JSON
Lines by default, or CSV) or the ``bq://`` table, sends ``{"instances": [...]}`` of ``batch_size`` rows as
objects keyed by column name to the container's predict route (the runtime's Vertex contract), and writes
the answers under the output prefix (or to BigQuery). ``target.batch.keep`` becomes the ``keyField`` (Vertex
carries one key column through, and does not send it to the model).
"""

from __future__ import annotations

import re
from typing import Any

from mlready.generators.batch.spec import BatchSpec

MODEL_NAME_TEMPLATE = "projects/{project}/locations/{region}/models/{model_id}"


def instances_format(cfg: BatchSpec, input_uri: str) -> str:
    fmt = cfg.vertex.instances_format
    if fmt != "auto":
        return fmt
    if input_uri.startswith("bq://"):
        return "bigquery"
    return "csv" if input_uri.lower().endswith(".csv") else "jsonl"


def batch_prediction_job(spec: Any, cfg: BatchSpec, input_uri: str, output_uri: str) -> dict[str, Any]:
    v = cfg.vertex
    fmt = instances_format(cfg, input_uri)
    source = {"bigquerySource": {"inputUri": input_uri}} if fmt == "bigquery" else {"gcsSource": {"uris": [input_uri]}}
    if output_uri.startswith("bq://"):
        destination: dict[str, Any] = {"predictionsFormat": "bigquery", "bigqueryDestination": {"outputUri": output_uri}}
    else:
        destination = {"predictionsFormat": "jsonl", "gcsDestination": {"outputUriPrefix": output_uri}}
    instance: dict[str, Any] = {"instanceType": "object"}
    if cfg.keep:
        instance["keyField"] = cfg.keep[0]
    return {
        "displayName": f"{spec.project.name}-batch",
        "model": MODEL_NAME_TEMPLATE,
        "inputConfig": {"instancesFormat": fmt, **source},
        "instanceConfig": instance,
        "outputConfig": destination,
        "dedicatedResources": {
            "machineSpec": {"machineType": v.machine_type},
            "startingReplicaCount": v.starting_replica_count,
            "maxReplicaCount": v.max_replica_count,
        },
        "manualBatchTuningParameters": {"batchSize": v.batch_size},
        "labels": {"mlready-project": spec.project.name,
                   "mlready-version": re.sub(r"[^a-z0-9_-]", "-", spec.project.version.lower())},
    }
