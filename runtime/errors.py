"""Errors a request can cause. Each carries an HTTP status and a gRPC status name; the HTTP app has one
exception handler on :class:`ServingError` that answers ``{"error": "..."}``. Anything else is a bug (500)."""

from __future__ import annotations


class ServingError(Exception):
    status = 500
    grpc_code = "INTERNAL"
    headers: dict[str, str] = {}

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadRequest(ServingError):
    status = 400
    grpc_code = "INVALID_ARGUMENT"


class Unauthorized(ServingError):
    status = 401
    grpc_code = "UNAUTHENTICATED"
    headers = {"WWW-Authenticate": "Bearer"}


class NotFound(ServingError):
    status = 404
    grpc_code = "NOT_FOUND"


class MethodNotAllowed(ServingError):
    status = 405
    grpc_code = "UNIMPLEMENTED"


class PayloadTooLarge(ServingError):
    status = 413
    grpc_code = "RESOURCE_EXHAUSTED"


class RequestTimeout(ServingError):
    """The request body did not arrive within ``http_limits.body_timeout_s``."""

    status = 408
    grpc_code = "DEADLINE_EXCEEDED"
    headers = {"Connection": "close"}


class HeadersTooLarge(ServingError):
    status = 431
    grpc_code = "INVALID_ARGUMENT"


class UnsupportedMediaType(ServingError):
    status = 415
    grpc_code = "INVALID_ARGUMENT"


class Unavailable(ServingError):
    """The model (version) exists but cannot serve now: loading, retired, or the server is shutting down."""

    status = 503
    grpc_code = "UNAVAILABLE"
    headers = {"Retry-After": "1"}


class Overloaded(Unavailable):
    """The batching queue is full: answered at once, the request is not queued."""

    grpc_code = "RESOURCE_EXHAUSTED"
