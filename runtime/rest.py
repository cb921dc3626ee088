"""The HTTP API: TF Serving REST, Open Inference Protocol v2 REST, cloud routes, metrics.

A hand-written router instead of Starlette's: the hot path (read body, route, decode, infer, encode) then costs
little more than a bare handler, which is the benchmark's goal. The front end (granian's HTTP/1.1, with its
limits) and the adapter that builds a :class:`Request` are in ``http_transport``. One place maps errors: a
:class:`ServingError` answers its status with ``{"error": "..."}``; anything else is logged and answers 500.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable
from typing import Any

import orjson
from mlready.runtime import codec_tfserving, codec_v2, request_decode
from mlready.runtime.capture import request_id
from mlready.runtime.config import normalize_route
from mlready.runtime.datatypes import V2_TO_TF
from mlready.runtime.decode_pool import Decode
from mlready.runtime.errors import (
    BadRequest,
    MethodNotAllowed,
    NotFound,
    ServingError,
)
from mlready.runtime.invocations import csv_body
from mlready.runtime.model import ModelVersion
from mlready.runtime.repository import parse_version
from mlready.runtime.service import Service

log = logging.getLogger("mlready.runtime.http")
access_log = logging.getLogger("mlready.runtime.access")

JSON = b"application/json"
_HEADER_LENGTH = codec_v2.HEADER_LENGTH.decode()
_DUMP = orjson.OPT_SERIALIZE_NUMPY


class ClientGone(Exception):
    pass


class Request:
    """One HTTP request, independent of the front end: the transport (``http_transport``) builds it with the
    method, path, headers (lower-cased names, latin-1 text values) and a body reader that enforces the
    transport's limits."""

    __slots__ = ("method", "path", "headers", "body", "id", "_read_body", "_offload_at")

    def __init__(self, method: str, path: str, headers: dict[str, str], read_body: Any,
                 offload_at: int = 1 << 62):
        self.method = method
        self.path = path
        self.headers = headers
        self.body = b""
        # (limit, request) -> awaitable bytes, kept as request.body once read; raises ServingError / ClientGone
        self._read_body = read_body
        self._offload_at = offload_at
        self.id = request_id(headers.get("x-request-id"))  # the client's, or a new one: always answered

    def read(self, limit: int) -> Awaitable[bytes]:
        """The body, awaitable; the transport's reader also keeps it as ``self.body`` (a plain function: one
        coroutine frame fewer on the hot path)."""
        return self._read_body(limit, self)

    @property
    def large(self) -> bool:
        """The body is large enough to be decoded off the event loop (``http_limits.offload_bytes``)."""
        return len(self.body) >= self._offload_at

    def json(self) -> Any:
        return request_decode.json_body(self.body)


class Response:
    __slots__ = ("status", "body", "content_type", "headers")

    def __init__(self, body: Any = None, status: int = 200, content_type: bytes = JSON,
                 headers: list[tuple[bytes, bytes]] | None = None, raw: bytes | None = None):
        self.status = status
        self.body = raw if raw is not None else orjson.dumps(body, option=_DUMP)
        self.content_type = content_type
        self.headers = headers or []


def _error(exc: ServingError) -> Response:
    headers = [(k.lower().encode(), v.encode()) for k, v in exc.headers.items()]
    return Response({"error": exc.message}, exc.status, headers=headers)


class App:
    """The HTTP API: routes and handlers, behind :meth:`respond`; the front end lives in ``http_transport``."""

    def __init__(self, service: Service):
        self.service = service
        self.config = service.config
        self.limit = self.config.max_body_bytes
        cloud = self.config.cloud
        self.exact: dict[str, Any] = {
            "/": self.root,
            "/v2": self.v2_server,
            "/v2/health/live": self.live,
            "/v2/health/ready": self.ready,
            "/metrics": self.metrics,
            "/openapi.json": self.openapi,
            "/v1/models": self.tf_list,
        }
        self.open_paths = {"/", "/openapi.json"}
        health = {"/v2/health/live", "/v2/health/ready"}
        if cloud.sagemaker:
            self.exact["/ping"] = self.ready
            self.exact["/invocations"] = self.sagemaker
            health.add("/ping")
        # Checked at startup (and at build time): no configured route takes over another or an open one.
        hroute, proute = self.config.vertex_routes(os.environ)
        if hroute:
            hroute = normalize_route(hroute)
            self.exact[hroute] = self.ready
            health.add(hroute)
        if proute:
            self.exact[normalize_route(proute)] = self.vertex
        if cloud.azure_route:
            self.exact[normalize_route(cloud.azure_route)] = self.azure
        if self.config.auth.open_health:
            self.open_paths |= health
        if self.config.auth.open_metrics:
            self.open_paths.add("/metrics")
        self._openapi: tuple[tuple, bytes] | None = None  # (serving versions, document)
        self._tf_routes: dict[str, tuple] = {}  # TF Serving model paths, parsed (_tf_route)
        # request paths that routed to a TF Serving :predict (never an exact or open route): (name, version,
        # label), so the next POST to one goes straight to it
        self._predict_paths: dict[str, tuple[str, str | None, str | None]] = {}

    # -- the one entry point of every transport ----------------------------------------------------------

    async def respond(self, req: Request) -> Response | None:
        """Dispatch ``req`` and map errors to answers; None when the client is gone (nothing to answer)."""
        t0 = time.perf_counter()
        try:
            resp = await self.dispatch(req)
        except ServingError as exc:
            resp = _error(exc)
        except ClientGone:
            return None
        except Exception:
            log.exception("unhandled error", extra={"request_id": req.id, "path": req.path})
            resp = Response({"error": "internal server error"}, 500)
        if self.config.access_log:
            access_log.info("request", extra={"request_id": req.id, "method": req.method,
                                              "path": req.path, "status": resp.status,
                                              "ms": round((time.perf_counter() - t0) * 1000, 3)})
        return resp

    def dispatch(self, req: Request) -> Awaitable[Response]:
        """The handler's answer, awaitable (a plain function: one coroutine frame fewer per request); routing
        and auth errors raise here."""
        hit = self._predict_paths.get(req.path)
        if hit is not None and req.method == "POST":  # the hot path: a :predict path routed before
            self.service.auth.check(req.headers.get("authorization"))
            return self._predict(req, *hit)
        path = req.path
        if len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/")
        if path not in self.open_paths:
            self.service.auth.check(req.headers.get("authorization"))
        handler = self.exact.get(path)
        if handler is not None:
            return handler(req)
        if path.startswith("/v2/models/"):
            return self.v2_model(req, path[len("/v2/models/"):].split("/"))
        if path.startswith("/v1/models/"):
            return self.tf_model(req, path[len("/v1/models/"):])
        raise NotFound(f"no route for {req.method} {path}")

    @staticmethod
    def _method(req: Request, *allowed: str) -> None:
        if req.method == "HEAD" and "GET" in allowed:
            return
        if req.method not in allowed:
            raise MethodNotAllowed(f"{req.method} is not allowed here (allowed: {', '.join(allowed)})")

    # -- server-level routes ------------------------------------------------------------------------------

    async def root(self, req: Request) -> Response:
        self._method(req, "GET")
        return Response({**self.service.server_metadata(), "ready": self.service.ready(),
                         "models": self.service.manager.models()})

    async def v2_server(self, req: Request) -> Response:
        self._method(req, "GET")
        return Response(self.service.server_metadata())

    async def live(self, req: Request) -> Response:
        self._method(req, "GET")
        return Response({"live": True})

    async def ready(self, req: Request) -> Response:
        self._method(req, "GET")
        ready = self.service.ready()
        return Response({"ready": ready}, 200 if ready else 503)

    async def metrics(self, req: Request) -> Response:
        self._method(req, "GET")
        body, ctype = self.service.metrics.render()
        return Response(raw=body, content_type=ctype.encode())

    async def openapi(self, req: Request) -> Response:
        self._method(req, "GET")
        manager = self.service.manager
        # the document is open (no token): with auth on it carries no model data beyond names, so no examples
        loaded = {} if self.service.auth.enabled else {
            n: mv for n in manager.models() if (mv := manager.latest.get(n)) is not None}
        key = tuple((n, mv.version) for n, mv in sorted(loaded.items()))
        if self._openapi is None or self._openapi[0] != key:  # the examples follow the serving versions
            from mlready.runtime.openapi import openapi_document

            doc = openapi_document(self.config, manager.models(), {n: mv.signature for n, mv in loaded.items()})
            self._openapi = (key, orjson.dumps(doc))
        return Response(raw=self._openapi[1])

    # -- Open Inference Protocol v2 -----------------------------------------------------------------------

    async def v2_model(self, req: Request, parts: list[str]) -> Response:
        name, version, action = parts[0], None, ""
        rest = parts[1:]
        if len(rest) >= 2 and rest[0] == "versions":
            version, rest = rest[1], rest[2:]
        if len(rest) == 1:
            action = rest[0]
        elif rest:
            raise NotFound(f"no route for {req.method} {req.path}")
        if not name:
            raise NotFound("a model name is required")
        if action == "":
            self._method(req, "GET")
            return Response(self.service.manager.metadata(name, version))
        if action == "ready":
            self._method(req, "GET")
            ready = self.service.manager.model_ready(name, version)
            return Response({"name": name, "ready": ready}, 200 if ready else 503)
        if action == "infer":
            self._method(req, "POST")
            return await self._v2_infer(req, name, version)
        if action == "feedback":
            return await self._feedback(req, name, version)
        raise NotFound(f"no route for {req.method} {req.path}")

    async def _v2_infer(self, req: Request, name: str, version: str | None) -> Response:
        body = await req.read(self.limit)
        hlen = req.headers.get(_HEADER_LENGTH)
        decode: Any = Decode(request_decode.v2, body, hlen)
        if hlen is not None and hlen.isascii() and hlen.isdigit() and int(hlen) < self.config.http_limits.offload_bytes:
            # binary tensors behind a small JSON header: no long GIL-held parse (np.frombuffer), so the body is
            # not copied to a decode process and back
            decode = decode.in_process()

        def encode(mv: ModelVersion, result: dict, parsed: codec_v2.V2Request) -> Response:
            header, chunks = codec_v2.encode(mv.name, mv.version, parsed, result, mv.answers)
            data = orjson.dumps(header, option=_DUMP)
            if not chunks:
                return Response(raw=data)
            return Response(raw=b"".join([data, *chunks]), content_type=b"application/octet-stream",
                            headers=[(codec_v2.HEADER_LENGTH, str(len(data)).encode())])

        return await self.service.infer("v2-rest", name, version, None, decode, encode, offload=req.large,
                                        request_id=req.id)

    async def _feedback(self, req: Request, name: str, version: str | None) -> Response:
        """True labels for answered requests (runtime/feedback.py): joined with the predictions and counted."""
        self._method(req, "POST")
        store = self.service.feedback
        if store is None:
            raise NotFound("feedback is off (set serving.feedback.enabled: true)")
        if version is not None:
            raise NotFound("feedback is per model: POST /v2/models/<name>/feedback (each label is joined with "
                           "the version that answered)")
        mv = self.service.manager.resolve(name, None, None)
        body = await req.read(self.limit)
        return Response(store.post(name, mv, body))

    # -- TensorFlow Serving REST --------------------------------------------------------------------------

    async def tf_list(self, req: Request) -> Response:
        self._method(req, "GET")
        return Response({"models": self.service.manager.models()})

    async def tf_model(self, req: Request, rest: str) -> Response:
        route = self._tf_routes.get(rest)
        if route is None:
            route = _tf_route(rest)
            if len(self._tf_routes) >= 1024:  # bounded: paths are the client's choice
                self._tf_routes.clear()
            self._tf_routes[rest] = route
        name, version, label, verb, meta, found = route
        if not found:
            raise NotFound(f"no route for {req.method} {req.path}")
        if verb:
            if verb not in ("predict", "classify", "regress"):
                raise NotFound(f"unknown method ':{verb}' (use :predict)")
            self._method(req, "POST")
            if verb != "predict":
                raise BadRequest(f":{verb} is only available for TensorFlow models; use :predict")
            if len(self._predict_paths) >= 1024:  # bounded: paths are the client's choice
                self._predict_paths.clear()
            self._predict_paths[req.path] = (name, version, label)
            return await self._predict(req, name, version, label)
        self._method(req, "GET")
        if meta:
            return Response(self._tf_metadata(name, version, label))
        return Response(self._tf_status(name, version, label))

    async def _predict(self, req: Request, name: str, version: str | None, label: str | None) -> Response:
        await req.read(self.limit)
        return await self._tf_predict(req, "tfserving", name, version, label)

    def _tf_status(self, name: str, version: str | None, label: str | None) -> dict[str, Any]:
        manager = self.service.manager
        if name not in manager.status and name not in self.config.models:
            raise NotFound(f"model '{name}' not found")
        statuses = manager.status.get(name, {})
        if label is not None:
            labels = self.config.model(name).labels
            if label not in labels:
                raise NotFound(f"model '{name}' has no label '{label}'")
            version = str(labels[label])
        if version is not None:
            number = parse_version(version)
            if number is None or number not in statuses:
                raise NotFound(f"model '{name}' has no version '{version[:40]}'")
            return {"model_version_status": [statuses[number].to_tfserving(number)]}
        return {"model_version_status": [statuses[v].to_tfserving(v) for v in sorted(statuses, reverse=True)]}

    def _tf_metadata(self, name: str, version: str | None, label: str | None) -> dict[str, Any]:
        mv = self.service.manager.resolve(name, version, label)

        def tensors(specs: Any) -> dict[str, Any]:
            return {t.name: {"dtype": V2_TO_TF[t.datatype], "name": t.name,
                             "tensor_shape": {"dim": [{"size": str(d), "name": ""} for d in t.shape],
                                              "unknown_rank": False}} for t in specs}

        sig = mv.signature
        # serving_default's inputs are what an instance is keyed by: the features when the model names them
        # (positional instances still work); "mlready" says the rest (the model's own inputs, classes, task)
        fmap = sig.feature_map
        inputs = list(fmap.column_specs.values()) if fmap is not None else sig.inputs
        meta: dict[str, Any] = {"signature_def": {"signature_def": {"serving_default": {
            "inputs": tensors(inputs),
            "outputs": tensors(mv.served_outputs),
            "method_name": "tensorflow/serving/predict",
        }}}}
        params = mv.metadata().get("parameters")
        if params:
            meta["mlready"] = {**params, "inputs": [t.to_dict() for t in sig.inputs]}
        return {"model_spec": {"name": name, "signature_name": "", "version": str(mv.version)}, "metadata": meta}

    def _tf_predict(self, req: Request, protocol: str, name: str, version: str | None,
                    label: str | None, route: str = "tfserving", parse: Any = None) -> Awaitable[Response]:
        """The request's JSON body (read by the caller) in ``route``'s form (request_decode.RESHAPE), decoded
        as one call, off the event loop when large; or ``parse``: the route's own parse of the body into TF
        Serving's form, given the signature (SageMaker's CSV)."""
        if parse is None:
            decode: Any = Decode(request_decode.tfserving_body, req.body, route)
        else:
            def decode(mv: ModelVersion) -> tuple:
                return request_decode.tfserving(mv.signature, parse(mv.signature))

        def encode(mv: ModelVersion, result: dict, fmt: str) -> Response:
            return Response(codec_tfserving.encode(result, fmt, mv.answers))

        return self.service.infer(protocol, name, version, label, decode, encode, offload=req.large,
                                  request_id=req.id)

    # -- cloud container contracts ------------------------------------------------------------------------

    async def sagemaker(self, req: Request) -> Response:
        """SageMaker ``POST /invocations``: TF Serving JSON, MLflow's scoring payloads, or CSV (with a header line:
        rows keyed by feature name; see runtime/invocations.py)."""
        self._method(req, "POST")
        await req.read(self.limit)
        ctype, *params = req.headers.get("content-type", "").split(";")
        parse = None
        if ctype.strip().lower() == "text/csv":
            header = _csv_header(params)
            body = req.body

            def parse(signature: Any) -> Any:
                return csv_body(body, signature, header)
        name = self.service.default_model()
        return await self._tf_predict(req, "sagemaker", name, None, None, "sagemaker", parse)

    async def vertex(self, req: Request) -> Response:
        """Vertex AI: ``{"instances": [...], "parameters": {...}}`` -> ``{"predictions": [...]}``."""
        self._method(req, "POST")
        await req.read(self.limit)
        name = self.service.default_model()
        return await self._tf_predict(req, "vertex", name, None, None, "vertex")

    async def azure(self, req: Request) -> Response:
        """Azure ML scoring: ``{"data": rows}``, ``{"input_data": {"data": rows}}``, or TF Serving JSON."""
        self._method(req, "POST")
        await req.read(self.limit)
        name = self.service.default_model()
        return await self._tf_predict(req, "azure", name, None, None, "azure")


def _tf_route(rest: str) -> tuple[str, str | None, str | None, str, bool, bool]:
    """A TF Serving model path after ``/v1/models/``: (name, version, label, verb, metadata, is a route)."""
    verb = ""
    head, sep, tail = rest.rpartition(":")
    if sep and "/" not in tail:
        rest, verb = head, tail
    parts = rest.split("/")
    name, version, label, meta = parts[0], None, None, False
    tail_parts = parts[1:]
    if len(tail_parts) >= 2 and tail_parts[0] in ("versions", "labels"):
        if tail_parts[0] == "versions":
            version = tail_parts[1]
        else:
            label = tail_parts[1]
        tail_parts = tail_parts[2:]
    if tail_parts == ["metadata"] and not verb:
        meta, tail_parts = True, []
    return name, version, label, verb, meta, not tail_parts and bool(name)


def _csv_header(params: list[str]) -> bool | None:
    """The ``header`` parameter of a ``text/csv`` content type (RFC 4180): present, absent, or not said."""
    for p in params:
        key, _, value = p.strip().partition("=")
        if key.strip().lower() == "header":
            value = value.strip().strip('"').lower()
            if value not in ("present", "absent"):
                raise BadRequest("Content-Type text/csv: header must be 'present' or 'absent'")
            return value == "present"
    return None


def create_app(service: Service) -> App:
    return App(service)


__all__ = ["App", "create_app"]
