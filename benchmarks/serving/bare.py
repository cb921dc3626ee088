"""The ceiling: a bare ASGI handler that only decodes JSON, runs onnxruntime and encodes the answer.

    python benchmarks/serving/bare.py MODEL.onnx PORT
Accepts TF Serving row format ``{"instances": [[...]]}`` on any path, answers ``{"predictions": [...]}``.
"""

from __future__ import annotations

import sys

import numpy as np
import onnxruntime as ort
import orjson
import uvicorn


def load(model_path: str):
    """(session, input name, output names): the one onnxruntime session both bare handlers use."""
    opts = ort.SessionOptions()
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(model_path, sess_options=opts, providers=["CPUExecutionProvider"])
    return session, session.get_inputs()[0].name, [o.name for o in session.get_outputs()]


def make_app(model_path: str):
    session, name, outputs = load(model_path)

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        if scope["method"] == "GET":  # health
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        body = b""
        more = True
        while more:
            msg = await receive()
            body += msg.get("body", b"")
            more = msg.get("more_body", False)
        x = np.asarray(orjson.loads(body)["instances"], dtype=np.float32)
        y = session.run(outputs, {name: x})[0]
        out = orjson.dumps({"predictions": y}, option=orjson.OPT_SERIALIZE_NUMPY)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(out)).encode())]})
        await send({"type": "http.response.body", "body": out})

    return app


if __name__ == "__main__":
    uvicorn.run(make_app(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]), loop="uvloop", http="httptools",
                log_level="warning", access_log=False, lifespan="off")
