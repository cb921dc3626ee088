"""``--push`` against a real registry (Debian's docker-registry on loopback, htpasswd auth, plain HTTP).

The harness' registries.conf marks ``$MLREADY_TEST_REGISTRY`` (localhost:5555) insecure for podman.
Credentials come from MLREADY_REGISTRY_USER/PASSWORD and must not end up in any file mlready writes.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from mlready.engine.actions import docker_engine as img
from mlready.engine.actions.image import build_and_check

from tests.docker.conftest import DOCKER

pytestmark = [pytest.mark.container, pytest.mark.slow]
USER, PASSWORD = "mlready-ci", "pw-7c1f0e9a-not-in-files"
MANIFEST_TYPES = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"


def _get(url: str, auth: tuple[str, str] | None = None, accept: str = "") -> tuple[int, dict]:
    req = urllib.request.Request(url, method="HEAD" if accept else "GET")
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(":".join(auth).encode()).decode())
    if accept:
        req.add_header("Accept", accept)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)
    except urllib.error.URLError:  # not listening (yet)
        return 0, {}


@pytest.fixture(scope="module")
def registry(tmp_path_factory, docker_client):
    host = os.environ.get("MLREADY_TEST_REGISTRY", "localhost:5555")
    exe, htpasswd = shutil.which("docker-registry"), shutil.which("htpasswd")
    if not exe or not htpasswd:
        pytest.fail("docker-registry/htpasswd missing: run tools/containers/setup.sh", pytrace=False)
    root = tmp_path_factory.mktemp("registry")
    users = subprocess.run([htpasswd, "-Bbn", USER, PASSWORD], check=True, capture_output=True, text=True).stdout
    (root / "htpasswd").write_text(users)
    port = host.rsplit(":", 1)[1]
    (root / "config.yml").write_text(json.dumps({  # JSON is YAML
        "version": 0.1, "log": {"level": "warn"},
        "storage": {"filesystem": {"rootdirectory": str(root / "data")}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": "test-only"},
        "auth": {"htpasswd": {"realm": "mlready-test", "path": str(root / "htpasswd")}},
    }))
    proc = subprocess.Popen([exe, "serve", str(root / "config.yml")], stdout=subprocess.DEVNULL,
                            stderr=open(root / "registry.log", "w"))  # noqa: SIM115 - closed with the process
    try:
        for _ in range(100):
            if _get(f"http://127.0.0.1:{port}/v2/")[0] == 401:
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"registry did not start: {(root / 'registry.log').read_text()[-2000:]}", pytrace=False)
        yield host
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_push_with_env_credentials_records_the_registry_digest(registry, quickstart, monkeypatch):
    monkeypatch.setenv(img.USER_ENV, USER)
    monkeypatch.setenv(img.PASSWORD_ENV, PASSWORD)
    report = build_and_check(quickstart, [*DOCKER, f"target.docker.registry={registry}/team"], push=True,
                             smoke=False)
    assert report.pushed and report.ref == f"{registry}/team/quickstart:1.0.0"
    port = registry.rsplit(":", 1)[1]
    status, headers = _get(f"http://127.0.0.1:{port}/v2/team/quickstart/manifests/1.0.0", (USER, PASSWORD),
                           MANIFEST_TYPES)
    assert status == 200 and headers["Docker-Content-Digest"] == report.digest
    record = json.loads((quickstart / ".mlready" / "image.json").read_text())
    assert record["name"] == f"{registry}/team/quickstart" and record["digest"] == report.digest
    written = [p for root in (quickstart / "build", quickstart / ".mlready") for p in Path(root).rglob("*")
               if p.is_file() and PASSWORD.encode() in p.read_bytes()]
    assert written == []


def test_push_with_wrong_credentials_fails_clearly(registry, quickstart, docker_client, monkeypatch):
    record = json.loads((quickstart / ".mlready" / "image.json").read_text())  # the image pushed above
    repository = f"{registry}/other/quickstart"
    docker_client.images.get(record["id"]).tag(repository, "1.0.0")
    monkeypatch.setenv(img.USER_ENV, USER)
    monkeypatch.setenv(img.PASSWORD_ENV, "wrong")
    with pytest.raises(img.ImageError, match=r"push of .*quickstart:1.0.0 failed: .*(unauthorized|authentication)"):
        img.push(docker_client, repository, "1.0.0")
