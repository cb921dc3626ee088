"""Smoke run: the compose bundle up with podman-compose on the locally built image; healthy; one prediction."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from mlready.engine.actions.image import build_and_check
from mlready.engine.actions.smoke import compare, eval_rows, expected

from tests.support.containers import ensure_service, podman
from tests.support.ports import free_port

pytestmark = [pytest.mark.container, pytest.mark.slow]
NAME = "mlready-compose-smoke"  # a project name of its own: its image tag and containers clash with no one's



def compose(path: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    exe = shutil.which("podman-compose")
    if exe is None:
        pytest.fail("podman-compose is not installed: run tools/install-system-deps.sh", pytrace=False)
    return subprocess.run([exe, "-p", NAME, "-f", str(path), *args], capture_output=True, text=True,
                          timeout=timeout)


def wait_healthy(container: str, timeout: float = 120) -> float:
    """Run the compose file's own health check (podman runs it on demand) until it passes."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if podman("healthcheck", "run", container, check=False).returncode == 0:
            return time.monotonic() - start
        state = podman("inspect", "-f", "{{.State.Status}}", container, check=False).stdout.strip()
        if state in ("exited", "dead"):
            break
        time.sleep(0.5)
    logs = podman("logs", container, check=False)
    pytest.fail(f"{container} not healthy after {time.monotonic() - start:.0f}s\n{logs.stdout[-3000:]}"
                f"{logs.stderr[-3000:]}", pytrace=False)


def test_compose_bundle_serves_a_prediction(builds, base_image):
    ensure_service()
    http, grpc = free_port(), free_port()
    overrides = ["tracking.enabled=false", "readiness.enabled=false", "+target=[docker,compose]",
                 f"project.name={NAME}", f"target.docker.base_image={base_image}",
                 "target.compose.bind_address=127.0.0.1", f"target.compose.http_port={http}",
                 f"target.compose.grpc_port={grpc}"]
    out = builds.root / "smoke-out"
    report = build_and_check(builds.project, overrides, smoke=False, out=out)
    assert report.ref == f"{NAME}:1.0.0"
    path = out / "compose" / "compose.yaml"
    up = compose(path, "up", "-d")
    try:
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        container = f"{NAME}_model_1"
        wait_healthy(container)
        attrs = json.loads(podman("inspect", container).stdout)[0]
        assert attrs["HostConfig"]["ReadonlyRootfs"] is True and attrs["Config"]["User"] == "10001:10001"
        repo = out / "docker" / "model-repository" / NAME / "1"
        signature = json.loads((repo / "metadata.json").read_text())
        from mlready.engine import api

        spec = api.validate(builds.project, overrides)
        body, want = expected(repo / "model.onnx", signature, eval_rows(spec, signature, 8))
        req = urllib.request.Request(f"http://127.0.0.1:{http}/v2/models/{NAME}/infer",
                                     data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            reply = json.loads(resp.read())
        names, _ = compare(reply, want)
        assert set(names) == {"label", "probabilities"}
    finally:
        down = compose(path, "down", timeout=120)
        assert down.returncode == 0, down.stderr[-2000:]
