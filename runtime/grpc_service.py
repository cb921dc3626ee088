"""Open Inference Protocol gRPC (``inference.GRPCInferenceService``), sharing the HTTP event loop; mlready's
``mlready.v1.Feedback`` (:mod:`mlready.runtime.grpc_feedback`) is served beside it on the same port."""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
from mlready.runtime.capture import request_id
from mlready.runtime.codec_v2 import from_binary, model_inputs, request_tensor, to_binary
from mlready.runtime.datatypes import V2_TO_CONTENTS, numpy_to_v2
from mlready.runtime.errors import BadRequest, NotFound, ServingError, Unavailable
from mlready.runtime.grpc_feedback import FeedbackServicer
from mlready.runtime.grpc_transport import Call, GrpcError, GrpcServer, Routes, Status
from mlready.runtime.model import ModelVersion
from mlready.runtime.proto import grpc_predict_v2_pb2 as pb
from mlready.runtime.service import Service
from mlready.runtime.signature import TensorSpec, check_outputs, strings

log = logging.getLogger("mlready.runtime.grpc")


def _decode(req: Any, mv: ModelVersion) -> tuple[dict[str, np.ndarray], list[str] | None, None]:
    sig = mv.signature
    raw = req.raw_input_contents
    if raw and len(raw) != len(req.inputs):
        raise BadRequest(f"raw_input_contents has {len(raw)} entries for {len(req.inputs)} inputs")
    arrays: dict[str, np.ndarray] = {}
    for i, t in enumerate(req.inputs):
        spec, shape = request_tensor(sig, arrays, t.name, t.datatype, list(t.shape))
        if raw:
            arr = from_binary(spec, shape, raw[i])
        else:
            field = V2_TO_CONTENTS.get(spec.datatype)
            if field is None:
                raise BadRequest(f"input '{t.name}': {spec.datatype} must be sent in raw_input_contents")
            values = getattr(t.contents, field)
            count = math.prod(shape)
            if len(values) != count:
                raise BadRequest(f"input '{t.name}': {len(values)} values do not fill shape {shape}")
            if spec.datatype == "BYTES":
                try:
                    arr = strings(np.array([*values, None], dtype=object)[:-1].reshape(shape))
                except ValueError:
                    raise BadRequest(f"input '{t.name}': BYTES values must be UTF-8 text") from None
            else:
                arr = _typed(spec, values).reshape(shape)
        arrays[t.name] = arr
    return model_inputs(sig, arrays), check_outputs(sig, [o.name for o in req.outputs] or None), None


def _typed(spec: TensorSpec, values: Any) -> np.ndarray:
    """Typed ``contents`` -> an array of the input's dtype. INT8/INT16 travel in int32 ``int_contents`` and
    UINT8/UINT16 in uint32 ``uint_contents``: a value outside the datatype's range is refused, never wrapped."""
    wide = np.array(values, dtype=_CONTENTS_DTYPE.get(spec.datatype, spec.dtype))
    if wide.dtype == spec.dtype:
        return wide
    arr = wide.astype(spec.dtype)
    if not np.array_equal(arr, wide):
        bad = int(np.flatnonzero(arr != wide)[0])
        raise BadRequest(f"input '{spec.name}': value {int(wide[bad])} at index {bad} is out of range for "
                         f"{spec.datatype}")
    return arr


#: the wire type of the contents fields that carry narrower datatypes
_CONTENTS_DTYPE = {"INT8": np.dtype(np.int32), "INT16": np.dtype(np.int32),
                   "UINT8": np.dtype(np.uint32), "UINT16": np.dtype(np.uint32)}


def _encode(mv: ModelVersion, result: dict[str, np.ndarray], req_id: str) -> Any:
    resp = pb.ModelInferResponse(model_name=mv.name, model_version=str(mv.version), id=req_id)
    raws = []
    proba = mv.answers.proba if mv.answers is not None else None
    for name, arr in result.items():
        datatype = numpy_to_v2(arr.dtype)
        out = resp.outputs.add(name=name, datatype=datatype, shape=list(arr.shape))
        if name == proba:  # the class order, as in v2 REST (see runtime/answers.py)
            out.parameters["class_names"].string_param = mv.answers.parameter
        raws.append(to_binary(arr, datatype))
    resp.raw_output_contents.extend(raws)
    return resp


class InferenceServicer:
    """The six Open Inference Protocol calls over :mod:`mlready.runtime.grpc_transport`."""

    def __init__(self, service: Service):
        self.service = service
        self.open_health = service.config.auth.open_health

    def routes(self) -> Routes:
        prefix = "/inference.GRPCInferenceService/"
        return {prefix + "ServerLive": (pb.ServerLiveRequest.FromString, self.ServerLive),
                prefix + "ServerReady": (pb.ServerReadyRequest.FromString, self.ServerReady),
                prefix + "ModelReady": (pb.ModelReadyRequest.FromString, self.ModelReady),
                prefix + "ServerMetadata": (pb.ServerMetadataRequest.FromString, self.ServerMetadata),
                prefix + "ModelMetadata": (pb.ModelMetadataRequest.FromString, self.ModelMetadata),
                prefix + "ModelInfer": (pb.ModelInferRequest.FromString, self.ModelInfer)}

    def _auth(self, call: Call, health: bool = False) -> None:
        if not self.service.auth.enabled or (health and self.open_health):
            return
        try:
            self.service.auth.check(call.metadata.get("authorization"))
        except ServingError as exc:
            raise _status(exc) from None

    async def ServerLive(self, request: Any, call: Call) -> Any:  # noqa: N802 - gRPC method names
        self._auth(call, health=True)
        return pb.ServerLiveResponse(live=True)

    async def ServerReady(self, request: Any, call: Call) -> Any:  # noqa: N802
        self._auth(call, health=True)
        return pb.ServerReadyResponse(ready=self.service.ready())

    async def ModelReady(self, request: Any, call: Call) -> Any:  # noqa: N802
        self._auth(call)  # like GET /v2/models/{m}/ready: it tells which models exist
        try:
            ready = self.service.manager.model_ready(request.name, request.version or None)
        except NotFound as exc:
            raise _status(exc) from None
        return pb.ModelReadyResponse(ready=ready)

    async def ServerMetadata(self, request: Any, call: Call) -> Any:  # noqa: N802
        self._auth(call)  # like GET /v2
        meta = self.service.server_metadata()
        return pb.ServerMetadataResponse(name=meta["name"], version=meta["version"], extensions=meta["extensions"])

    async def ModelMetadata(self, request: Any, call: Call) -> Any:  # noqa: N802
        self._auth(call)
        try:
            meta = self.service.manager.metadata(request.name, request.version or None)
        except (NotFound, Unavailable) as exc:
            raise _status(exc) from None
        Tensor = pb.ModelMetadataResponse.TensorMetadata
        return pb.ModelMetadataResponse(
            name=meta["name"], versions=meta["versions"], platform=meta["platform"],
            inputs=[Tensor(**t) for t in meta["inputs"]], outputs=[Tensor(**t) for t in meta["outputs"]])

    async def ModelInfer(self, request: Any, call: Call) -> Any:  # noqa: N802
        # the x-request-id metadata (or a new id), always in the trailing metadata and recorded by capture
        rid = request_id(call.metadata.get("x-request-id"))
        call.trailing.append((b"x-request-id", rid.encode()))
        self._auth(call)
        try:
            return await self.service.infer(
                "v2-grpc", request.model_name, request.model_version or None, None,
                lambda mv: _decode(request, mv),
                lambda mv, result, _ctx: _encode(mv, result, request.id), request_id=rid)
        except ServingError as exc:
            raise _status(exc) from None


def _status(exc: ServingError) -> GrpcError:
    return GrpcError(Status[exc.grpc_code], exc.message)


def create_grpc_server(service: Service) -> GrpcServer:
    """The gRPC server for ``service``; ``await server.start(host, port, reuse_port)`` binds it (``reuse_port``
    only for workers: otherwise a second server on the same port would silently share it instead of failing)."""
    inference = InferenceServicer(service)
    routes = {**inference.routes(), **FeedbackServicer(service, inference._auth).routes()}  # mlready.v1.Feedback
    return GrpcServer(routes, max_message_bytes=service.config.max_body_bytes, limits=service.config.grpc_limits)
