"""The podman harness itself: the API socket answers and the local base image runs python3 non-root, read-only."""

import urllib.request

import pytest

from tests.support.containers import host_port, run_container, wait_http

pytestmark = pytest.mark.container


def test_base_image_runs_python_nonroot_readonly(docker_client, base_image):
    out = docker_client.containers.run(
        base_image, ["python3", "-c", "import os, sys, venv; print(os.getuid(), sys.version_info[:2])"],
        user="10001:10001", read_only=True, remove=True,
    )
    assert out.decode().split()[0] == "10001"
    assert "(3, 11)" in out.decode()


def test_published_port_reaches_the_container(docker_client, base_image):
    with run_container(docker_client, base_image, command=["python3", "-m", "http.server", "8000"],
                       user="10001:10001", read_only=True, ports={"8000/tcp": ("127.0.0.1", None)}) as c:
        url = f"http://127.0.0.1:{host_port(c, '8000/tcp')}/"
        wait_http(url, timeout=20, container=c)
        with urllib.request.urlopen(url) as resp:
            assert b"Directory listing" in resp.read()
