"""Fixtures for the model server tests: models built locally, a server process on loopback."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


def _load_models():
    spec = importlib.util.spec_from_file_location("mlready_bench_models", ROOT / "benchmarks/serving/models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


models = _load_models()



@dataclass
class Server:
    proc: subprocess.Popen
    http_port: int
    grpc_port: int
    repo: Path
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def http(self) -> str:
        return f"127.0.0.1:{self.http_port}"

    @property
    def grpc(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def stop(self, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def logs(self) -> str:
        return self.log.read_text(errors="replace")


def start_server(tmp: Path, repo: Path, ready: bool = True, env: dict | None = None, **config) -> Server:
    http_port, grpc_port = free_port(), free_port()
    cfg = {"model_repository": str(repo), "host": "127.0.0.1", "http_port": http_port, "grpc_port": grpc_port,
           "poll_interval_s": 0.2, **config}
    cfg_file = tmp / f"runtime-{http_port}.json"
    cfg_file.write_text(json.dumps(cfg))
    log = tmp / f"server-{http_port}.log"
    proc = subprocess.Popen([sys.executable, "-m", "mlready.runtime", "--config", str(cfg_file)],
                            stdout=log.open("wb"), stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    server = Server(proc, http_port, grpc_port, repo, log)
    import httpx

    deadline = time.monotonic() + 60
    path = "/v2/health/ready" if ready else "/v2/health/live"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{server.logs()}")
        try:
            if httpx.get(server.url + path, timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server not ready:\n{server.logs()}")


@pytest.fixture(scope="session")
def model_repo(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("repo")
    onx, signature, _ = models.breast_cancer_logreg()
    models.write_version(repo, "quickstart", 1, onx, signature)
    models.write_version(repo, "mlp", 1, models.mlp_model([64, 128, 2]))
    models.write_version(repo, "half_plus_two", 1, models.half_plus_two())
    models.write_version(repo, "multi", 1, models.multi_input_model())
    models.write_version(repo, "dyn", 1, models.dynamic_matmul())
    return repo


@pytest.fixture(scope="session")
def breast_cancer_X():
    return models.breast_cancer_logreg()[2]


@pytest.fixture(scope="module")
def server(tmp_path_factory, model_repo):
    srv = start_server(tmp_path_factory.mktemp("srv"), model_repo,
                       models={"quickstart": {"labels": {"stable": 1}}})
    yield srv
    srv.stop()


@pytest.fixture
def launch(tmp_path):
    """Start servers on a repository; every one still running is stopped at teardown."""
    started: list[Server] = []

    def _launch(repo: Path, **kwargs) -> Server:
        srv = start_server(tmp_path, repo, **kwargs)
        started.append(srv)
        return srv

    yield _launch
    for srv in started:
        if srv.proc.poll() is None:
            srv.stop()


@pytest.fixture(scope="session")
def mk():
    """The model builders (benchmarks/serving/models.py)."""
    return models
