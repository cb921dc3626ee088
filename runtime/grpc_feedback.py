"""``mlready.v1.Feedback/Send`` (``proto/feedback.proto``): true labels over gRPC, beside the Open Inference
Protocol's service on the same port.

The KServe v2 gRPC service is fixed and has no feedback call, so this is a separate small service. A call carries
the same items as REST's ``POST /v2/models/<name>/feedback`` (``{"id", "label" | "value"}``, one label or value
per row of the answered request) into the same :meth:`FeedbackStore.send`: the same checks, error texts (bad input
is INVALID_ARGUMENT naming the field, ``feedback[1].label[0]: ...``, and counts nothing of the call), outcome counts
and metrics, and with capture on the same feedback records in the capture sink; the same auth as ``ModelInfer``.
Feedback off is UNIMPLEMENTED (the service is not enabled).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlready.runtime.errors import ServingError
from mlready.runtime.grpc_transport import Call, GrpcError, Routes, Status
from mlready.runtime.proto import feedback_pb2 as fpb
from mlready.runtime.service import Service

SEND = "/mlready.v1.Feedback/Send"


def feedback_items(request: Any) -> list[dict[str, Any]]:
    """The call's items as the store takes them: ``label`` / ``value`` present when the call set them."""
    out = []
    for item in request.feedback:
        entry: dict[str, Any] = {"id": item.id}
        if item.label:
            entry["label"] = list(item.label)
        if item.value:
            entry["value"] = list(item.value)
        out.append(entry)
    return out


class FeedbackServicer:
    """``Send``: check, join and count the labels; ``auth`` is the inference service's check of the call."""

    def __init__(self, service: Service, auth: Callable[[Call], None]):
        self.service = service
        self.auth = auth

    def routes(self) -> Routes:
        return {SEND: (fpb.FeedbackRequest.FromString, self.Send)}

    async def Send(self, request: Any, call: Call) -> Any:  # noqa: N802 - gRPC method names
        self.auth(call)
        store = self.service.feedback
        if store is None:
            raise GrpcError(Status.UNIMPLEMENTED, "feedback is off (set serving.feedback.enabled: true)")
        if not request.model_name:
            raise GrpcError(Status.INVALID_ARGUMENT, "model_name: the model that answered the requests is required")
        try:
            mv = self.service.manager.resolve(request.model_name, None, None)
            counts = store.send(request.model_name, mv, feedback_items(request))
        except ServingError as exc:
            raise GrpcError(Status[exc.grpc_code], exc.message) from None
        return fpb.FeedbackResponse(**counts)
