"""Regenerate ``grpc_predict_v2_pb2*.py`` from the .proto beside this file (needs grpcio-tools).

The generated ``_pb2_grpc`` module imports ``grpc_predict_v2_pb2`` as a top-level module; the import is
rewritten to a relative one so the code works inside the ``mlready.runtime.proto`` package. The messages are
registered in a private descriptor pool, not protobuf's default one: the Open Inference Protocol's package is
``inference``, the same as tritonclient's own copy, and two files defining ``inference.ModelInferRequest`` in
one pool cannot both be imported into one process.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    from grpc_tools import protoc

    rc = protoc.main(["protoc", f"-I{HERE}", f"--python_out={HERE}", f"--pyi_out={HERE}",
                      f"--grpc_python_out={HERE}", str(HERE / "grpc_predict_v2.proto")])
    if rc:
        return rc
    pb_mod = HERE / "grpc_predict_v2_pb2.py"
    pb_mod.write_text(pb_mod.read_text().replace("_descriptor_pool.Default().AddSerializedFile(",
                                                 "_descriptor_pool.DescriptorPool().AddSerializedFile(", 1))
    grpc_mod = HERE / "grpc_predict_v2_pb2_grpc.py"
    text = re.sub(r"^import grpc_predict_v2_pb2 as", "from . import grpc_predict_v2_pb2 as",
                  grpc_mod.read_text(), flags=re.M)
    grpc_mod.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
