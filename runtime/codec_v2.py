"""Open Inference Protocol (KServe v2) REST tensors, including the binary tensor data extension.

With the extension the body is a JSON header of ``Inference-Header-Content-Length`` bytes followed by the raw
tensors, in input order, of every input whose ``parameters.binary_data_size`` is set; outputs asked for with
``parameters.binary_data`` (or request-level ``binary_data_output``) are answered the same way.

A model whose signature names its features also takes one tensor per feature (named after it, its datatype,
shape ``[rows]`` or ``[rows, 1]``), assembled into the inputs by :mod:`~mlready.runtime.features`; a request
sends either the model's inputs or its features, not a mix. A classifier's probabilities output carries the class
order as its ``class_names`` parameter (:mod:`~mlready.runtime.answers`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from mlready.runtime.answers import Answers
from mlready.runtime.datatypes import (
    V2_TO_NUMPY,
    deserialize_bytes_tensor,
    numpy_to_v2,
    serialize_bytes_tensor,
)
from mlready.runtime.errors import BadRequest
from mlready.runtime.signature import MAX_DIMS, Signature, TensorSpec, strings, to_array

Arrays = dict[str, np.ndarray]
HEADER_LENGTH = b"inference-header-content-length"  # the binary extension's header (ASGI bytes)


class V2Request:
    __slots__ = ("id", "arrays", "outputs", "binary_outputs", "binary_default")

    def __init__(self, id_: str | None, arrays: Arrays, outputs: list[str] | None, binary_outputs: dict[str, bool],
                 binary_default: bool):
        self.id = id_
        self.arrays = arrays
        self.outputs = outputs
        self.binary_outputs = binary_outputs
        self.binary_default = binary_default


def check_shape(value: Any, name: str) -> list[int]:
    """A request's ``shape`` (a JSON list, or a gRPC repeated int64) -> a list of dimensions; 400 otherwise."""
    if not isinstance(value, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                              for d in value):
        raise BadRequest(f"input '{name}': 'shape' must be a list of non-negative integers")
    if len(value) > MAX_DIMS:
        raise BadRequest(f"input '{name}': 'shape' has {len(value)} dimensions (at most {MAX_DIMS})")
    return value


def _params(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"{where}: 'parameters' must be an object")
    return value


def decode(body: Any, binary: bytes, signature: Signature) -> V2Request:
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object with 'inputs'")
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise BadRequest("'inputs' must be a non-empty list of tensors")
    id_ = body.get("id")
    if id_ is not None and not isinstance(id_, str):
        raise BadRequest("'id' must be a string")
    params = _params(body.get("parameters"), "request")
    arrays: Arrays = {}
    offset = 0
    for i, tensor in enumerate(inputs):
        if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
            raise BadRequest(f"inputs[{i}]: expected an object with a string 'name'")
        name = tensor["name"]
        spec, shape = request_tensor(signature, arrays, name, tensor.get("datatype"), tensor.get("shape"))
        tparams = _params(tensor.get("parameters"), f"input '{name}'")
        size = tparams.get("binary_data_size")
        if size is not None:
            if not isinstance(size, int) or isinstance(size, bool) or size < 0 or offset + size > len(binary):
                raise BadRequest(f"input '{name}': binary_data_size {size!r} does not fit the binary body "
                                 f"({len(binary) - offset} bytes left)")
            arrays[name] = from_binary(spec, shape, binary[offset : offset + size])
            offset += size
        else:
            if "data" not in tensor:
                raise BadRequest(f"input '{name}': 'data' is missing")
            arrays[name] = to_array(spec, tensor["data"], shape)
    if offset != len(binary):
        raise BadRequest(f"{len(binary) - offset} bytes of binary data are not claimed by any input")
    arrays = model_inputs(signature, arrays)
    outputs = None
    binary_outputs: dict[str, bool] = {}
    if "outputs" in body:
        req = body["outputs"]
        if not isinstance(req, list):
            raise BadRequest("'outputs' must be a list")
        outputs = []
        for i, out in enumerate(req):
            if not isinstance(out, dict) or not isinstance(out.get("name"), str):
                raise BadRequest(f"outputs[{i}]: expected an object with a string 'name'")
            if signature.output(out["name"]) is None:
                raise BadRequest(f"unknown output '{out['name']}' (model '{signature.name}' has: "
                                 f"{', '.join(signature.output_names)})")
            flag = _params(out.get("parameters"), f"output '{out['name']}'").get("binary_data")
            if isinstance(flag, bool):
                binary_outputs[out["name"]] = flag
            outputs.append(out["name"])
        if not outputs:
            outputs = None
    return V2Request(id_, arrays, outputs, binary_outputs, params.get("binary_data_output") is True)


def request_tensor(signature: Signature, read: Arrays, name: str, datatype: Any, shape: Any
                   ) -> tuple[TensorSpec, list[int]]:
    """A request tensor's spec and checked shape, before its data is read (v2 REST and gRPC); 400 when it was
    given twice (``read``: the tensors read so far), has an unknown name, another datatype or a bad shape."""
    if name in read:
        raise BadRequest(f"input '{name}' given twice")
    spec, feature = tensor_spec(signature, name, datatype)
    shape = check_shape(shape, name)
    if feature:
        feature_shape(name, shape)
    return spec, shape


def tensor_spec(signature: Signature, name: str, datatype: Any) -> tuple[TensorSpec, bool]:
    """The spec a request tensor named ``name`` is read with, and whether it is a feature column (a feature
    that is not an input, or one that is its input alone): then it is one value per row, of the feature's type."""
    fmap = signature.feature_map
    if fmap is None:
        return input_spec(signature, name, datatype), False
    if name in fmap.feature_tensors:
        return _datatype(fmap.column_specs[name], datatype), True
    if signature.input(name) is None:
        raise fmap.unknown(name, None, signature.input_names)
    return input_spec(signature, name, datatype), False


def feature_shape(name: str, shape: list[int]) -> None:
    if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] != 1):
        raise BadRequest(f"input '{name}': a feature takes one value per row (shape [rows] or [rows, 1]), "
                         f"got shape {shape}")


def model_inputs(signature: Signature, arrays: Arrays) -> Arrays:
    """Tensors as sent -> the model's inputs: feature columns are assembled; the model's own inputs pass."""
    fmap = signature.feature_map
    if fmap is None:
        return arrays
    features = [n for n in arrays if n in fmap.feature_tensors]
    if not features:
        return arrays
    if len(features) != len(arrays):
        others = sorted(set(arrays) - set(features))
        raise BadRequest(f"send either one tensor per feature ({', '.join(fmap.names)}) or the model's inputs "
                         f"({', '.join(signature.input_names)}), not both (got feature(s) and "
                         f"{', '.join(repr(n) for n in others)})")
    fmap.check_names(arrays, "inputs")
    columns = {n: a.reshape(-1) for n, a in arrays.items()}
    rows = len(columns[fmap.names[0]])
    for n, col in columns.items():
        if len(col) != rows:
            raise BadRequest(f"input '{n}': {len(col)} rows, but '{fmap.names[0]}' has {rows}")
    return fmap.assemble(columns, rows)


def input_spec(signature: Signature, name: str, datatype: Any) -> TensorSpec:
    """The signature's input ``name``, which the request declares as ``datatype``; 400 if unknown or another type."""
    spec = signature.input(name)
    if spec is None:
        raise BadRequest(f"unknown input '{name}' (model '{signature.name}' takes: "
                         f"{', '.join(signature.input_names)})")
    return _datatype(spec, datatype)


def _datatype(spec: TensorSpec, datatype: Any) -> TensorSpec:
    if not isinstance(datatype, str) or datatype not in V2_TO_NUMPY:
        raise BadRequest(f"input '{spec.name}': unknown datatype {datatype!r} (one of {', '.join(V2_TO_NUMPY)})")
    if datatype != spec.datatype:
        raise BadRequest(f"input '{spec.name}': expected datatype {spec.datatype}, got {datatype}")
    return spec


def from_binary(spec: TensorSpec, shape: list[int], raw: bytes) -> np.ndarray:
    """A tensor in binary form (REST binary data, gRPC raw contents) -> an array of the input's dtype."""
    count = math.prod(shape)
    if spec.datatype == "BYTES":
        try:
            items = deserialize_bytes_tensor(raw)
        except ValueError as exc:
            raise BadRequest(f"input '{spec.name}': {exc}") from None
        if len(items) != count:
            raise BadRequest(f"input '{spec.name}': {len(items)} values do not fill shape {shape}")
        try:
            return strings(np.array(items + [None], dtype=object)[:-1].reshape(shape))
        except ValueError:
            raise BadRequest(f"input '{spec.name}': BYTES values must be UTF-8 text for this model") from None
    dtype = spec.dtype.newbyteorder("<")
    if len(raw) != count * dtype.itemsize:
        raise BadRequest(f"input '{spec.name}': {len(raw)} bytes do not fill shape {shape} of {spec.datatype}")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).astype(spec.dtype, copy=False)


def to_binary(arr: np.ndarray, datatype: str) -> bytes:
    """An output in binary form: little-endian values, or length-prefixed elements for BYTES."""
    if datatype == "BYTES":
        return serialize_bytes_tensor(arr)
    return np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes()


def encode(model: str, version: int, req: V2Request, outputs: Arrays,
           answers: Answers | None = None) -> tuple[dict[str, Any], list[bytes]]:
    """-> (JSON header, binary chunks). No chunks means a plain JSON response."""
    tensors, chunks = [], []
    proba = answers.proba if answers is not None else None
    for name, arr in outputs.items():
        datatype = numpy_to_v2(arr.dtype)
        t: dict[str, Any] = {"name": name, "datatype": datatype, "shape": list(arr.shape)}
        if name == proba:
            t["parameters"] = {"class_names": answers.parameter}
        if req.binary_outputs.get(name, req.binary_default):
            raw = to_binary(arr, datatype)
            t.setdefault("parameters", {})["binary_data_size"] = len(raw)
            chunks.append(raw)
        elif datatype == "BYTES":
            t["data"] = [x.decode("utf-8", "replace") if isinstance(x, bytes) else str(x) for x in arr.reshape(-1)]
        elif datatype == "FP16":
            t["data"] = arr.astype(np.float32).reshape(-1)
        else:
            t["data"] = np.ascontiguousarray(arr).reshape(-1)
        tensors.append(t)
    header: dict[str, Any] = {"model_name": model, "model_version": str(version), "outputs": tensors}
    if req.id is not None:
        header["id"] = req.id
    return header, chunks
