"""Container test support shared by the suite: a Docker SDK client on the podman harness, the local base image.

This machine (and CI) has no Docker Engine and cannot pull images. ``tools/containers/`` provides podman with
runc, ``podman system service`` on a unix socket (Docker-compatible API) and a locally built Debian bookworm
base image with python3 (``localhost/mlready-test-base:bookworm``). These fixtures start the service when it is
not running and build the base image when it is missing, so a test never skips: if podman itself is absent
the test fails with the command to run (``tools/containers/setup.sh``).

Use from a conftest::

    from tests.support.containers import base_image, docker_client  # noqa: F401  (fixtures)

Helpers: :func:`run_container` (removes the container afterwards), :func:`host_port`, :func:`wait_http`,
:func:`podman` (the CLI with the harness' containers.conf, e.g. ``podman("kube", "play", path)``).
The harness' registries.conf also marks ``$MLREADY_TEST_REGISTRY`` (localhost:5555) as a plain-HTTP registry
for tests that start Debian's ``docker-registry`` there (see tests/docker/test_push.py).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
HARNESS = REPO / "tools" / "containers"
DEFAULT_BASE_IMAGE = "localhost/mlready-test-base:bookworm"
SETUP_HINT = "run `tools/containers/setup.sh` (as root) and export what it prints"


def _exports(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if line.startswith("export ") and "=" in line:
            key, _, value = line[len("export ") :].partition("=")
            out[key.strip()] = value.strip()
    return out


def ensure_service() -> dict[str, str]:
    """Start the podman API service if needed; set and return CONTAINERS_CONF, DOCKER_HOST and the base name.

    An explicit ``DOCKER_HOST`` from the environment wins (a real Docker Engine works too); otherwise the
    harness socket is used.
    """
    if shutil.which("podman") is None and not os.environ.get("DOCKER_HOST"):
        pytest.fail(f"podman is not installed and DOCKER_HOST is not set: {SETUP_HINT}", pytrace=False)
    env: dict[str, str] = {}
    if shutil.which("podman") is not None:
        proc = subprocess.run([str(HARNESS / "service.sh")], capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            pytest.fail(f"could not start podman system service:\n{proc.stderr}", pytrace=False)
        env = _exports(proc.stdout)
    for key, value in env.items():
        if key == "DOCKER_HOST" and os.environ.get("DOCKER_HOST"):
            continue
        os.environ[key] = value
    return {k: os.environ[k] for k in ("DOCKER_HOST", "CONTAINERS_CONF") if k in os.environ}


def podman(*args: str, check: bool = True, timeout: float = 600, **kw: Any) -> subprocess.CompletedProcess:
    """Run the podman CLI with the harness' containers.conf (runc, no default ulimits)."""
    ensure_service()
    return subprocess.run(["podman", *args], check=check, capture_output=True, text=True, timeout=timeout, **kw)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    """A ``docker.DockerClient`` on DOCKER_HOST (the podman harness socket unless set otherwise)."""
    import docker

    ensure_service()
    client = docker.from_env(timeout=600)
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001 - report any transport error the same way
        pytest.fail(f"container engine at {os.environ.get('DOCKER_HOST')} does not answer ({exc}): {SETUP_HINT}",
                    pytrace=False)
    yield client
    client.close()


@pytest.fixture(scope="session")
def base_image(docker_client: Any) -> str:
    """The local test base image (Debian bookworm + python3 + python3-venv), built once and cached."""
    name = os.environ.get("MLREADY_TEST_BASE_IMAGE", DEFAULT_BASE_IMAGE)
    if not docker_client.images.list(name=name):
        proc = subprocess.run([str(HARNESS / "base-image.sh")], capture_output=True, text=True, timeout=900,
                              env={**os.environ, "MLREADY_TEST_BASE_IMAGE": name})
        if proc.returncode != 0:
            pytest.fail(f"could not build the base image {name}:\n{proc.stderr[-4000:]}", pytrace=False)
    return name


@contextlib.contextmanager
def run_container(client: Any, image: str, **kwargs: Any) -> Iterator[Any]:
    """``client.containers.run(image, detach=True, **kwargs)``; the container is removed on exit."""
    container = client.containers.run(image, detach=True, **kwargs)
    try:
        yield container
    finally:
        with contextlib.suppress(Exception):
            container.remove(force=True)


def host_port(container: Any, port: str) -> int:
    """The host port published for ``port`` (e.g. ``"8080/tcp"``)."""
    container.reload()
    return int(container.attrs["NetworkSettings"]["Ports"][port][0]["HostPort"])


def wait_http(url: str, timeout: float = 30.0, container: Any = None) -> float:
    """Poll ``url`` until it answers 200; return the seconds waited. Fails with the container's logs."""
    start = time.monotonic()
    last = ""
    while time.monotonic() - start < timeout:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return time.monotonic() - start
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last = str(exc)
        if container is not None:
            container.reload()
            if container.status in ("exited", "dead"):
                break
        time.sleep(0.05)
    logs = container.logs().decode(errors="replace")[-4000:] if container is not None else ""
    pytest.fail(f"{url} not ready after {time.monotonic() - start:.1f}s ({last})\n{logs}", pytrace=False)
