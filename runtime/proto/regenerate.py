"""Regenerate ``grpc_predict_v2_pb2*.py`` from the .proto beside this file (needs grpcio-tools).

The generated ``_pb2_grpc`` module imports ``grpc_predict_v2_pb2`` as a top-level module; the import is
rewritten to a relative one so the code works inside the ``mlready.runtime.proto`` package.
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
    grpc_mod = HERE / "grpc_predict_v2_pb2_grpc.py"
    text = re.sub(r"^import grpc_predict_v2_pb2 as", "from . import grpc_predict_v2_pb2 as",
                  grpc_mod.read_text(), flags=re.M)
    grpc_mod.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
