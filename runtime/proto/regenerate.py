"""Regenerate the ``*_pb2*.py`` modules from the .proto files beside this file (needs grpcio-tools).

- ``grpc_predict_v2.proto``: the Open Inference Protocol (``inference.GRPCInferenceService``);
- ``feedback.proto``: mlready's own ``mlready.v1.Feedback`` (true labels for answered requests).

The generated ``_pb2_grpc`` modules import their ``_pb2`` module as a top-level module; the import is rewritten
to a relative one so the code works inside the ``mlready.runtime.proto`` package. The messages are registered in
private descriptor pools, not protobuf's default one: the Open Inference Protocol's package is ``inference``, the
same as tritonclient's own copy, and two files defining ``inference.ModelInferRequest`` in one pool cannot both
be imported into one process.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROTOS = ("grpc_predict_v2", "feedback")


def main() -> int:
    from grpc_tools import protoc

    for name in PROTOS:
        rc = protoc.main(["protoc", f"-I{HERE}", f"--python_out={HERE}", f"--pyi_out={HERE}",
                          f"--grpc_python_out={HERE}", str(HERE / f"{name}.proto")])
        if rc:
            return rc
        pb_mod = HERE / f"{name}_pb2.py"
        pb_mod.write_text(pb_mod.read_text().replace("_descriptor_pool.Default().AddSerializedFile(",
                                                     "_descriptor_pool.DescriptorPool().AddSerializedFile(", 1))
        grpc_mod = HERE / f"{name}_pb2_grpc.py"
        text = re.sub(rf"^import {name}_pb2 as", f"from . import {name}_pb2 as", grpc_mod.read_text(), flags=re.M)
        grpc_mod.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
