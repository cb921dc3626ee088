"""For reference: a bare grpcio (grpc.aio) ModelInfer handler (raw tensors in, onnxruntime, raw tensors out).

    python benchmarks/serving/bare_grpc.py MODEL.onnx PORT
"""

from __future__ import annotations

import sys

import grpc
import numpy as np
import onnxruntime as ort
import uvloop
from mlready.runtime.proto import grpc_predict_v2_pb2 as pb
from mlready.runtime.proto import grpc_predict_v2_pb2_grpc as pb_grpc


class Bare(pb_grpc.GRPCInferenceServiceServicer):
    def __init__(self, path: str):
        opts = ort.SessionOptions()
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    async def ServerReady(self, request, context):  # noqa: N802
        return pb.ServerReadyResponse(ready=True)

    async def ModelInfer(self, request, context):  # noqa: N802
        x = np.frombuffer(request.raw_input_contents[0], np.float32).reshape(list(request.inputs[0].shape))
        y = self.session.run(None, {self.input: x})[0]
        response = pb.ModelInferResponse(model_name=request.model_name, model_version="1")
        response.outputs.add(name="output", datatype="FP32", shape=list(y.shape))
        response.raw_output_contents.append(y.tobytes())
        return response


async def main(path: str, port: int) -> None:
    server = grpc.aio.server()
    pb_grpc.add_GRPCInferenceServiceServicer_to_server(Bare(path), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1], int(sys.argv[2])))
