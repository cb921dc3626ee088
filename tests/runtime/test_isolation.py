"""The runtime imports nothing from the build side, works as plain source on PYTHONPATH, and its metrics
module has no import side effects."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ["mlready.engine", "mlready.generators", "hydra", "omegaconf", "jinja2", "mlflow", "sklearn", "pandas",
             "pydantic", "skl2onnx", "onnx", "click", "starlette"]

SCRIPT = r"""
import asyncio, json, sys
from mlready.runtime.config import RuntimeConfig
from mlready.runtime.service import Service
from mlready.runtime.rest import create_app
from mlready.runtime.grpc_service import create_grpc_server
import mlready.runtime.server, mlready.runtime.__main__

async def main():
    service = Service(RuntimeConfig.from_dict({"model_repository": sys.argv[1], "poll_interval_s": 0}))
    app = create_app(service)
    grpc_server, _ = create_grpc_server(service, 0, "127.0.0.1")
    await service.start()
    await service.wait_loaded()
    assert service.ready(), "not ready"
    sent = []
    async def receive():
        return {"type": "http.request", "body": b'{"instances": [1.0]}', "more_body": False}
    async def send(msg):
        sent.append(msg)
    scope = {"type": "http", "method": "POST", "path": "/v1/models/h:predict", "headers": []}
    await app(scope, receive, send)
    assert sent[-1]["body"] == b'{"predictions":[2.5]}', sent
    await grpc_server.stop(0)
    await service.stop()

asyncio.run(main())
import mlready.runtime
print(mlready.runtime.__file__)
print(json.dumps(sorted(sys.modules)))
"""


def test_runtime_imports_nothing_from_the_build_side(tmp_path, mk):
    mk.write_version(tmp_path / "repo", "h", 1, mk.half_plus_two())
    # plain source on PYTHONPATH, laid out as the image does: /opt/mlready/lib/mlready/runtime
    lib = tmp_path / "lib"
    shutil.copytree(ROOT / "runtime", lib / "mlready" / "runtime",
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(lib)
    # -S: no site processing, so the editable install's finder is absent; site-packages without its .pth files
    purelib = sysconfig.get_paths()["purelib"]
    prelude = f"import sys; sys.path[:0] = [{str(lib)!r}]; sys.path.append({purelib!r})\n"
    proc = subprocess.run([sys.executable, "-S", "-c", prelude + SCRIPT,
                           str(tmp_path / "repo")], capture_output=True, text=True, env=env, timeout=120,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    *_, origin, modules = proc.stdout.strip().splitlines()
    assert origin.startswith(str(lib)), origin  # the copied source, not the editable install
    loaded = json.loads(modules)
    bad = sorted(m for m in loaded if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))
    assert bad == [], bad


def test_metrics_module_has_no_import_side_effects():
    code = ("import prometheus_client; before = set(prometheus_client.REGISTRY._names_to_collectors)\n"
            "import mlready.runtime.metrics as m\n"
            "assert set(prometheus_client.REGISTRY._names_to_collectors) == before\n"
            "assert m.REQUESTS_TOTAL == 'mlready_requests_total'\n"
            "a, b = m.create_metrics(), m.create_metrics()\n"  # independent registries
            "assert a.registry is not b.registry\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
