"""Derive ``inferenceservice-v1beta1.schema.json``: the InferenceService CRD's OpenAPI schema, kept as data.

Run ``python -m mlready.generators.kserve.derive_schema`` to regenerate it (deterministic output).

Sources:

- **KServe**: ``config/crd/full/serving.kserve.io_inferenceservices.yaml`` of KServe v0.16 (``v1beta1``
  ``openAPIV3Schema``): the shape of ``spec`` and of the predictor (``PredictorSpec`` = the inlined
  Kubernetes ``PodSpec`` + ``ComponentExtensionSpec`` + the framework model specs). Written out below as
  data; the framework specs (``model``, ``sklearn``, ...) and the other components are kept as objects,
  since mlready only emits a custom-container predictor.
- **Kubernetes**: the CRD inlines core/v1 types generated from the Kubernetes Go types. They are taken
  from the strict Kubernetes 1.29 JSON schemas shipped by the ``kubernetes-validate`` package, so the
  containers, volumes and security contexts are checked as strictly as the built-in kinds are.

Unknown fields are rejected (``additionalProperties: false``), matching the API server's strict field
validation for ``kubectl apply --validate=strict`` and server-side apply.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

KSERVE_VERSION = "0.16"
K8S_SCHEMA_VERSION = "v1.29.0-local-strict"
OUT = Path(__file__).with_name("inferenceservice-v1beta1.schema.json")
K8S = "io.k8s.api.core.v1."
META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"

INT = {"type": "integer"}
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
OBJECT = {"type": "object"}

QUANTITY = {"anyOf": [INT, {"type": "string"}],
            "pattern": r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?"
                       r"(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"}


def _strict(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        out["required"] = required
    return out


# AutoScalingSpec (KServe v0.16 pkg/apis/serving/v1beta1/component.go; the CRD's predictor.autoScaling): the
# metrics of KServe's KEDA route (serving.kserve.io/autoscalerClass: keda)
METRIC_TARGET = _strict({"type": {"type": "string", "enum": ["Utilization", "Value", "AverageValue"]},
                         "value": QUANTITY, "averageValue": QUANTITY, "averageUtilization": INT})
AUTOSCALING = _strict({
    "behavior": {"$ref": "#/$defs/io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerBehavior"},
    "metrics": {"type": "array", "items": _strict({
        "type": {"type": "string", "enum": ["Resource", "External", "PodMetric"]},
        "resource": _strict({"name": {"type": "string", "enum": ["cpu", "memory"]}, "target": METRIC_TARGET},
                            ["name", "target"]),
        "external": _strict({
            "metric": _strict({"backend": {"type": "string", "enum": ["prometheus", "graphite"]},
                               "serverAddress": {"type": "string"}, "query": {"type": "string"},
                               "namespace": {"type": "string"}}),
            "authenticationRef": _strict({"authModes": {"type": "string"}, "authenticationRef": _strict(
                {"name": {"type": "string"}}, ["name"])}, ["authenticationRef"]),
            "target": METRIC_TARGET}, ["metric", "target"]),
        "podmetric": _strict({
            "metric": _strict({"backend": {"type": "string", "enum": ["opentelemetry"]},
                               "metricNames": {"type": "array", "items": {"type": "string"}},
                               "operationOverTime": {"type": "string"}, "query": {"type": "string"},
                               "serverAddress": {"type": "string"}}),
            "target": METRIC_TARGET}, ["metric", "target"]),
    }, ["type"])},
})

# ComponentExtensionSpec (KServe v0.16), the fields every component (predictor, transformer, explainer) has
COMPONENT_EXTENSION: dict[str, Any] = {
    "minReplicas": INT,
    "maxReplicas": INT,
    "scaleTarget": INT,
    "scaleMetric": {"type": "string", "enum": ["cpu", "memory", "concurrency", "rps"]},
    "scaleMetricType": {"type": "string", "enum": ["Utilization", "AverageValue", "Value"]},
    "autoScaling": AUTOSCALING,
    "containerConcurrency": INT,
    "timeout": INT,
    "canaryTrafficPercent": INT,
    "logger": OBJECT,
    "batcher": OBJECT,
    "labels": STRING_MAP,
    "annotations": STRING_MAP,
    "deploymentStrategy": {"$ref": "#/$defs/io.k8s.api.apps.v1.DeploymentStrategy"},
}
# PredictorSpec-only fields: the framework specs and multi-node workers
PREDICTOR_ONLY = ["huggingface", "lightgbm", "model", "onnx", "paddle", "pmml", "pytorch", "sklearn",
                  "tensorflow", "triton", "xgboost", "workerSpec"]


def _closure(defs: dict[str, Any], roots: list[str]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen[name] = defs[name]
        text = json.dumps(defs[name])
        for part in text.split('"#/$defs/')[1:]:
            todo.append(part.split('"', 1)[0])
    return dict(sorted(seen.items()))


def derive() -> dict[str, Any]:
    import kubernetes_validate

    path = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / K8S_SCHEMA_VERSION
    defs = json.loads((path / "_definitions.json").read_text())["$defs"]
    pod = defs[K8S + "PodSpec"]
    predictor_props = dict(pod["properties"])
    predictor_props.update(COMPONENT_EXTENSION)
    predictor_props.update({name: OBJECT for name in PREDICTOR_ONLY})
    predictor = {
        "description": "KServe PredictorSpec: an inlined PodSpec (containers optional) + ComponentExtensionSpec",
        "type": "object",
        "additionalProperties": False,
        "properties": dict(sorted(predictor_props.items())),
    }
    k8s_defs = _closure(defs, [K8S + "PodSpec", META, "io.k8s.api.apps.v1.DeploymentStrategy",
                               "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerBehavior"])
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$comment": (
            f"InferenceService serving.kserve.io/v1beta1, derived from the KServe v{KSERVE_VERSION} CRD "
            f"(config/crd/full/serving.kserve.io_inferenceservices.yaml) with Kubernetes types from "
            f"kubernetes-json-schema {K8S_SCHEMA_VERSION}; regenerate with "
            "python -m mlready.generators.kserve.derive_schema"
        ),
        "title": "InferenceService",
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": False,
        "properties": {
            "apiVersion": {"const": "serving.kserve.io/v1beta1"},
            "kind": {"const": "InferenceService"},
            "metadata": {"$ref": f"#/$defs/{META}"},
            "spec": {
                "type": "object",
                "required": ["predictor"],
                "additionalProperties": False,
                "properties": {"predictor": {"$ref": "#/$defs/kserve.PredictorSpec"},
                               "transformer": OBJECT, "explainer": OBJECT},
            },
            "status": OBJECT,
        },
        "$defs": {"kserve.PredictorSpec": predictor, **k8s_defs},
    }


def main() -> None:
    OUT.write_text(json.dumps(derive(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
