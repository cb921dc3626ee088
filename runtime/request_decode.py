"""Request bodies to model inputs, as plain functions of ``(signature, body, ...)``: the REST routes call them on
the event loop for small bodies, and the decode pool (:mod:`~mlready.runtime.decode_pool`) runs them in a
separate process for large ones. So this module imports only the codecs (numpy, orjson) - never the models,
onnxruntime or the server - and every argument and result pickles (bytes, a Signature, numpy arrays)."""

from __future__ import annotations

import json
from typing import Any

import orjson
from mlready.runtime import codec_tfserving, codec_v2
from mlready.runtime.errors import BadRequest
from mlready.runtime.invocations import mlflow_json, split_records
from mlready.runtime.signature import Signature

Decoded = tuple[dict[str, Any], list[str] | None, Any]  # (input arrays, requested outputs, encode context)


def json_body(body: bytes, nan: bool = False) -> Any:
    """``nan``: accept the ``NaN`` token Python's json module (so MLflow's ``dump_input_data``) writes for a
    missing value, read as null (a missing value for float features); never Infinity."""
    if not body:
        raise BadRequest("the request body is empty (expected JSON)")
    # Any content type: TF Serving's documented `curl -d` examples send form-urlencoded.
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if nan and b"NaN" in body:
            return _json_with_nan(body)
        raise BadRequest(f"malformed JSON: {exc}") from None


def _nan_only(token: str) -> None:
    if token != "NaN":
        raise BadRequest(f"malformed JSON: {token} is not a JSON value (values must be finite numbers)")


def _json_with_nan(body: bytes) -> Any:
    try:
        return json.loads(body, parse_constant=_nan_only)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise BadRequest(f"malformed JSON: {str(exc)[:200]}") from None


def v2(signature: Signature, body: bytes, header_length: str | bytes | None) -> Decoded:
    """A v2 inference request: JSON, or a JSON header of ``header_length`` bytes followed by binary tensors."""
    if header_length is not None:
        try:
            if not header_length.isascii():  # int() takes other digits than 0-9 in str
                raise ValueError
            n = int(header_length)
        except ValueError:
            raise BadRequest("invalid Inference-Header-Content-Length") from None
        if not 0 < n <= len(body):
            raise BadRequest("Inference-Header-Content-Length is larger than the body")
        try:
            header = orjson.loads(body[:n])
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"malformed JSON header: {exc}") from None
        parsed = codec_v2.decode(header, body[n:], signature)
    else:
        parsed = codec_v2.decode(json_body(body), b"", signature)
    return parsed.arrays, parsed.outputs, parsed


def tfserving(signature: Signature, data: Any, rows: str = "instances") -> Decoded:
    """TF Serving ``:predict`` JSON, already parsed (the cloud routes reshape theirs into it; ``rows``: the
    client's name for the rows, for errors)."""
    arrays, fmt = codec_tfserving.decode(data, signature, rows)
    return arrays, None, fmt


def vertex_json(data: Any) -> Any:
    """Vertex AI: ``{"instances": [...], "parameters": {...}}``."""
    if not isinstance(data, dict) or "instances" not in data:
        raise BadRequest("Vertex AI requests must be a JSON object with 'instances'")
    return {"instances": data["instances"]}


def azure_json(data: Any) -> Any:
    """Azure ML scoring: ``{"data": rows}``, ``{"input_data": {"data": rows}}`` (with ``columns``: the pandas split
    form Azure's MLflow deployments send), or TF Serving JSON."""
    if isinstance(data, dict) and "input_data" in data:
        inner = data["input_data"]
        if isinstance(inner, dict) and "columns" in inner:
            return {"instances": split_records(inner, "input_data")}
        data = {"data": inner.get("data") if isinstance(inner, dict) else inner}
    if isinstance(data, dict) and "data" in data:
        data = {"instances": data["data"]}
    elif isinstance(data, list):
        data = {"instances": data}
    return data


def sagemaker_json(data: Any) -> Any:
    """SageMaker JSON: TF Serving's object, MLflow's scoring payloads (``dataframe_split``, ``dataframe_records``,
    ``instances``, ``inputs``, see :mod:`~mlready.runtime.invocations`), or a bare list of instances."""
    if not isinstance(data, dict):
        return {"instances": data}
    if "dataframe_split" in data or "dataframe_records" in data or "params" in data:
        return mlflow_json(data)
    return data


RESHAPE = {"tfserving": None, "vertex": vertex_json, "azure": azure_json, "sagemaker": sagemaker_json}


def tfserving_body(signature: Signature, body: bytes, route: str) -> Decoded:
    """A TF Serving-style JSON body of ``route`` (tfserving, sagemaker, vertex, azure): parse, reshape, decode."""
    data = json_body(body, nan=route in ("sagemaker", "azure"))  # MLflow's payloads (there) may say NaN
    reshape = RESHAPE[route]
    if reshape is None:
        return tfserving(signature, data)
    return tfserving(signature, reshape(data), rows_named(data))


def rows_named(data: Any) -> str:
    """What a cloud route's payload calls its rows (they become TF Serving's ``instances``): named in errors."""
    if isinstance(data, dict):
        for key, name in (("dataframe_records", "dataframe_records"), ("dataframe_split", "dataframe_split.data"),
                          ("input_data", "input_data.data"), ("data", "data")):
            if key in data:
                return name
        return "instances"
    return "body"  # a bare list: body[0], ...


__all__ = ["Decoded", "azure_json", "json_body", "sagemaker_json", "tfserving", "tfserving_body", "v2",
           "vertex_json"]
