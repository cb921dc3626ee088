"""The OpenAPI 3 document of the HTTP API (served at ``/openapi.json``)."""

from __future__ import annotations

from typing import Any

from mlready.runtime.config import RuntimeConfig
from mlready.runtime.datatypes import V2_TO_NUMPY

_OK = {"description": "ok", "content": {"application/json": {"schema": {}}}}  # any JSON
_ERROR = {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_INFER_ERRORS = (400, 404, 413, 503)  # routes that read a body


def _op(summary: str, params: list[str] = (), body: dict[str, Any] | None = None,
        errors: tuple[int, ...] = (400, 404, 503)) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {"200": _OK}}
    for code in errors:
        op["responses"][str(code)] = _ERROR
    if params:
        op["parameters"] = [{"name": p, "in": "path", "required": True, "schema": {"$ref": f"#/components/schemas/{p}"}}
                            for p in params]
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


def openapi_document(config: RuntimeConfig, models: list[str]) -> dict[str, Any]:
    tensor = {
        "type": "object", "required": ["name", "shape", "datatype"],
        "properties": {
            "name": {"type": "string"},
            "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
            "datatype": {"type": "string", "enum": list(V2_TO_NUMPY)},
            "parameters": {"type": "object"},
            "data": {},
        },
    }
    infer_request = {
        "type": "object", "required": ["inputs"],
        "properties": {
            "id": {"type": "string"},
            "parameters": {"type": "object"},
            "inputs": {"type": "array", "items": tensor, "minItems": 1},
            "outputs": {"type": "array", "items": {"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string"}, "parameters": {"type": "object"}}}},
        },
    }
    predict_request = {
        "type": "object",
        "properties": {"signature_name": {"type": "string"}, "instances": {"type": "array"}, "inputs": {}},
    }
    model_schema: dict[str, Any] = {"type": "string", "pattern": "^[A-Za-z0-9_.-]+$"}
    if models:
        model_schema = {"type": "string", "enum": models}
    schemas = {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
        "model": model_schema,
        "version": {"type": "string", "pattern": "^[0-9]+$"},
        "label": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
        "InferRequest": infer_request,
        "PredictRequest": predict_request,
    }
    ref = {"$ref": "#/components/schemas/InferRequest"}
    pref = {"$ref": "#/components/schemas/PredictRequest"}
    paths: dict[str, Any] = {
        "/v2": {"get": _op("Server metadata", errors=())},
        "/v2/health/live": {"get": _op("Liveness", errors=())},
        "/v2/health/ready": {"get": _op("Readiness", errors=(503,))},
        "/v2/models/{model}": {"get": _op("Model metadata", ["model"])},
        "/v2/models/{model}/ready": {"get": _op("Model readiness", ["model"])},
        "/v2/models/{model}/infer": {"post": _op("Inference (v2)", ["model"], ref, _INFER_ERRORS)},
        "/v2/models/{model}/versions/{version}": {"get": _op("Version metadata", ["model", "version"])},
        "/v2/models/{model}/versions/{version}/ready": {"get": _op("Version readiness", ["model", "version"])},
        "/v2/models/{model}/versions/{version}/infer": {
            "post": _op("Inference (v2), one version", ["model", "version"], ref, _INFER_ERRORS)},
        "/v1/models/{model}": {"get": _op("Model status (TF Serving)", ["model"])},
        "/v1/models/{model}/metadata": {"get": _op("Model metadata (TF Serving)", ["model"])},
        "/v1/models/{model}/versions/{version}": {"get": _op("Version status", ["model", "version"])},
        "/v1/models/{model}/versions/{version}/metadata": {
            "get": _op("Version metadata (TF Serving)", ["model", "version"])},
        "/v1/models/{model}/labels/{label}": {"get": _op("Labelled version status", ["model", "label"])},
        "/v1/models/{model}:predict": {"post": _op("Predict (TF Serving)", ["model"], pref, _INFER_ERRORS)},
        "/v1/models/{model}/versions/{version}:predict": {
            "post": _op("Predict, one version", ["model", "version"], pref, _INFER_ERRORS)},
        "/v1/models/{model}/labels/{label}:predict": {
            "post": _op("Predict, labelled version", ["model", "label"], pref, _INFER_ERRORS)},
        "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {
            "description": "ok", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
    }
    if config.cloud.sagemaker:
        paths["/ping"] = {"get": _op("SageMaker health", errors=(503,))}
        paths["/invocations"] = {"post": _op("SageMaker invocations", body=pref, errors=_INFER_ERRORS)}
    if config.cloud.azure_route:
        paths[config.cloud.azure_route] = {"post": _op("Azure ML scoring", body={}, errors=_INFER_ERRORS)}
    if config.auth.enabled:
        for item in paths.values():
            for op in item.values():
                op["responses"]["401"] = _ERROR
    return {
        "openapi": "3.0.3",
        "info": {"title": "mlready model server", "version": "0.1.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }
