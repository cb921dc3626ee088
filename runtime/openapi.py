"""The OpenAPI 3 document of the HTTP API (served at ``/openapi.json``).

Each loaded model adds working example requests built from its signature: a named row (TF Serving
``instances``, v2 one tensor per feature, MLflow ``dataframe_records`` on ``/invocations``) from the
signature's ``example`` row when the build wrote one, else a row of typed zero values (0, 0.0, false, "").
"""

from __future__ import annotations

from typing import Any

from mlready.runtime.config import RuntimeConfig
from mlready.runtime.datatypes import V2_TO_NUMPY
from mlready.runtime.signature import Signature

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


_ZERO = {"BOOL": False, "BYTES": ""}


def example_row(signature: Signature) -> dict[str, Any] | None:
    """One row keyed by feature name: the build's ``example`` row, else typed zeros; None without features."""
    if not signature.features:
        return None
    if signature.example is not None:
        return dict(signature.example)
    return {f.name: _ZERO.get(f.datatype, 0.0 if f.datatype.startswith("FP") else 0) for f in signature.features}


def examples(signatures: dict[str, Signature]) -> dict[str, dict[str, Any]]:
    """Per request form (predict, infer, invocations), an OpenAPI ``examples`` map with one entry per model."""
    out: dict[str, dict[str, Any]] = {"predict": {}, "infer": {}, "invocations": {}}
    for name, sig in sorted(signatures.items()):
        row = example_row(sig)
        if row is None:
            continue
        by_name = {f.name: f for f in sig.features or ()}
        out["predict"][name] = {"summary": f"{name}: one row keyed by feature name",
                                "value": {"instances": [row]}}
        out["infer"][name] = {"summary": f"{name}: one tensor per feature", "value": {"inputs": [
            {"name": k, "datatype": by_name[k].datatype, "shape": [1], "data": [v]} for k, v in row.items()]}}
        out["invocations"][name] = {"summary": f"{name}: MLflow dataframe_records",
                                    "value": {"dataframe_records": [row]}}
    return out


def _with_examples(op: dict[str, Any], found: dict[str, Any]) -> dict[str, Any]:
    if found:
        op["requestBody"]["content"]["application/json"]["examples"] = found
    return op


def openapi_document(config: RuntimeConfig, models: list[str],
                     signatures: dict[str, Signature] | None = None) -> dict[str, Any]:
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
    ex = examples(signatures or {})
    ref = {"$ref": "#/components/schemas/InferRequest"}
    pref = {"$ref": "#/components/schemas/PredictRequest"}
    paths: dict[str, Any] = {
        "/v2": {"get": _op("Server metadata", errors=())},
        "/v2/health/live": {"get": _op("Liveness", errors=())},
        "/v2/health/ready": {"get": _op("Readiness", errors=(503,))},
        "/v2/models/{model}": {"get": _op("Model metadata", ["model"])},
        "/v2/models/{model}/ready": {"get": _op("Model readiness", ["model"])},
        "/v2/models/{model}/infer": {"post": _with_examples(_op("Inference (v2)", ["model"], ref, _INFER_ERRORS),
                                                            ex["infer"])},
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
        "/v1/models/{model}:predict": {"post": _with_examples(
            _op("Predict (TF Serving)", ["model"], pref, _INFER_ERRORS), ex["predict"])},
        "/v1/models/{model}/versions/{version}:predict": {
            "post": _op("Predict, one version", ["model", "version"], pref, _INFER_ERRORS)},
        "/v1/models/{model}/labels/{label}:predict": {
            "post": _op("Predict, labelled version", ["model", "label"], pref, _INFER_ERRORS)},
        "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {
            "description": "ok", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
    }
    if config.cloud.sagemaker:
        paths["/ping"] = {"get": _op("SageMaker health", errors=(503,))}
        paths["/invocations"] = {"post": _with_examples(
            _op("SageMaker / MLflow invocations", body=pref, errors=_INFER_ERRORS), ex["invocations"])}
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
