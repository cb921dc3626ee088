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
             "pydantic", "skl2onnx", "onnx", "starlette", "grpc", "h2", "click"]  # gRPC is served by grpc_transport

SCRIPT = r"""
import json, os, signal, sys, urllib.request
from mlready.runtime.config import RuntimeConfig
from mlready.runtime import server

config = RuntimeConfig.from_dict({"model_repository": sys.argv[1], "host": "127.0.0.1", "http_port": 0,
                                  "grpc_port": 0, "poll_interval_s": 0})

def on_ready():  # the real server (granian + gRPC) is up and the model loaded: record, then stop
    import mlready.runtime
    with open(sys.argv[2], "w") as fh:
        json.dump({"origin": mlready.runtime.__file__, "modules": sorted(sys.modules)}, fh)
    os.kill(os.getpid(), signal.SIGTERM)

sys.exit(server.run_until_stopped(config, on_ready))
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
    report = tmp_path / "modules.json"
    proc = subprocess.run([sys.executable, "-S", "-c", prelude + SCRIPT, str(tmp_path / "repo"), str(report)],
                          capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(report.read_text())
    assert data["origin"].startswith(str(lib)), data["origin"]  # the copied source, not the editable install
    loaded = data["modules"]
    assert "granian" in loaded and "hpack" in loaded and "onnxruntime" in loaded
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
