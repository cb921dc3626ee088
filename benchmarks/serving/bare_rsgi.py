"""The Rust-fronted ceiling: the bare handler of bare.py on granian's RSGI interface (hyper HTTP/1.1 front end).

    python benchmarks/serving/bare_rsgi.py MODEL.onnx PORT [--embed]
Accepts TF Serving row format ``{"instances": [[...]]}`` on any path, answers ``{"predictions": [...]}``;
``GET`` answers ``ok`` (health). One worker, uvloop, HTTP/1.1 only: the same shape as mlready's REST port.
``--embed``: granian's embedded server (``granian.server.embed``) on a uvloop loop of this process, as mlready's
REST port runs it, instead of granian's worker process (both run hyper on one Rust thread beside the loop thread).
"""

from __future__ import annotations

import os
import sys

import numpy as np
import orjson
from bare import load  # benchmarks/serving/bare.py (this script's folder is on sys.path)

HEADERS = [("content-type", "application/json")]


def make_app(model_path: str):
    session, name, outputs = load(model_path)

    async def app(scope, proto):
        if scope.method == "GET":  # health
            proto.response_bytes(200, [], b"ok")
            return
        body = await proto()
        x = np.asarray(orjson.loads(body)["instances"], dtype=np.float32)
        y = session.run(outputs, {name: x})[0]
        proto.response_bytes(200, HEADERS, orjson.dumps({"predictions": y}, option=orjson.OPT_SERIALIZE_NUMPY))

    return app


app = make_app(os.environ["BARE_MODEL"]) if "BARE_MODEL" in os.environ else None


def embedded(port: int) -> None:
    import uvloop
    from granian.constants import HTTPModes, Interfaces
    from granian.log import LogLevels
    from granian.server.embed import Server as Embedded

    server = Embedded(app, address="127.0.0.1", port=port, interface=Interfaces.RSGI, http=HTTPModes.http1,
                      websockets=False, log_level=LogLevels.error)
    uvloop.run(server.serve())


if __name__ == "__main__":
    from granian.constants import HTTPModes, Interfaces, Loops
    from granian.server import Server

    os.environ["BARE_MODEL"] = sys.argv[1]
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    if "--embed" in sys.argv[3:]:
        app = make_app(sys.argv[1])
        embedded(int(sys.argv[2]))
        sys.exit(0)
    Server("bare_rsgi:app", address="127.0.0.1", port=int(sys.argv[2]), interface=Interfaces.RSGI, workers=1,
           loop=Loops.uvloop, http=HTTPModes.http1, log_level="warning", websockets=False).serve()
