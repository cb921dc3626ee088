"""The OpenAPI 3 document of the HTTP API (served at ``/openapi.json``)."""

from __future__ import annotations

from typing import Any

from mlready.runtime.config import RuntimeConfig

_ERROR = {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json(schema: dict[str, Any], description: str = "ok") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _op(summary: str, ok: dict[str, Any], params: list[str] = (), body: dict[str, Any] | None = None,
        errors: tuple[int, ...] = (400, 404, 503)) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {"200": ok}}
    for code in errors:
        op["responses"][str(code)] = _ERROR
    if params:
        op["parameters"] = [{"name": p, "in": "path", "required": True, "schema": {"$ref": f"#/components/schemas/{p}"}}
                            for p in params]
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


def openapi_document(config: RuntimeConfig, models: list[str]) -> dict[str, Any]:
    any_json: dict[str, Any] = {}
    tensor = {
        "type": "object", "required": ["name", "shape", "datatype"],
        "properties": {
            "name": {"type": "string"},
            "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
            "datatype": {"type": "string", "enum": ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16",
                                                   "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES"]},
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
        "/v2": {"get": _op("Server metadata", _json(any_json), errors=())},
        "/v2/health/live": {"get": _op("Liveness", _json(any_json), errors=())},
        "/v2/health/ready": {"get": _op("Readiness", _json(any_json), errors=(503,))},
        "/v2/models/{model}": {"get": _op("Model metadata", _json(any_json), ["model"])},
        "/v2/models/{model}/ready": {"get": _op("Model readiness", _json(any_json), ["model"])},
        "/v2/models/{model}/infer": {"post": _op("Inference (v2)", _json(any_json), ["model"], ref, (400, 404, 413, 503))},
        "/v2/models/{model}/versions/{version}": {"get": _op("Version metadata", _json(any_json), ["model", "version"])},
        "/v2/models/{model}/versions/{version}/ready": {
            "get": _op("Version readiness", _json(any_json), ["model", "version"])},
        "/v2/models/{model}/versions/{version}/infer": {
            "post": _op("Inference (v2), one version", _json(any_json), ["model", "version"], ref, (400, 404, 413, 503))},
        "/v1/models/{model}": {"get": _op("Model status (TF Serving)", _json(any_json), ["model"])},
        "/v1/models/{model}/metadata": {"get": _op("Model metadata (TF Serving)", _json(any_json), ["model"])},
        "/v1/models/{model}/versions/{version}": {"get": _op("Version status", _json(any_json), ["model", "version"])},
        "/v1/models/{model}/versions/{version}/metadata": {
            "get": _op("Version metadata (TF Serving)", _json(any_json), ["model", "version"])},
        "/v1/models/{model}/labels/{label}": {"get": _op("Labelled version status", _json(any_json), ["model", "label"])},
        "/v1/models/{model}:predict": {"post": _op("Predict (TF Serving)", _json(any_json), ["model"], pref, (400, 404, 413, 503))},
        "/v1/models/{model}/versions/{version}:predict": {
            "post": _op("Predict, one version", _json(any_json), ["model", "version"], pref, (400, 404, 413, 503))},
        "/v1/models/{model}/labels/{label}:predict": {
            "post": _op("Predict, labelled version", _json(any_json), ["model", "label"], pref, (400, 404, 413, 503))},
        "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {
            "description": "ok", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
    }
    if config.cloud.sagemaker:
        paths["/ping"] = {"get": _op("SageMaker health", _json(any_json), errors=(503,))}
        paths["/invocations"] = {"post": _op("SageMaker invocations", _json(any_json), body=pref,
                                             errors=(400, 404, 413, 503))}
    if config.cloud.azure_route:
        paths[config.cloud.azure_route] = {"post": _op("Azure ML scoring", _json(any_json), body=any_json,
                                                       errors=(400, 404, 413, 503))}
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
