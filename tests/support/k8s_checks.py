"""What the Kubernetes renderings (the kustomize bundle, the Helm chart) are checked with: kubernetes-validate
--strict on every supported version, checkov, and the smoke run of a played pod (ready, then a prediction
equal to onnxruntime's)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
K8S_VERSIONS = ["1.29.0", "1.30.0", "1.31.0", "1.32.0", "1.33.0"]


def kubernetes_validate_failures(files: list[Path]) -> dict[str, str]:
    """kubernetes-validate --strict for each supported version (one process per version, side by side):
    version -> the tail of its output, for the versions that failed."""
    exe = Path(sys.executable).with_name("kubernetes-validate")
    procs = {v: subprocess.Popen([str(exe), "--strict", "--quiet", "-k", v, *map(str, files)],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for v in K8S_VERSIONS}
    failures = {}
    for version, proc in procs.items():
        out, _ = proc.communicate(timeout=600)
        if proc.returncode != 0:
            failures[version] = out[-3000:]
    return failures


def checkov(directory: Path) -> dict[str, Any]:
    """checkov's kubernetes framework over a tree: its JSON report, after asserting no check failed."""
    exe = ROOT / ".tools/checkov/bin/checkov"
    if not exe.exists():
        pytest.fail("checkov is not installed: run tools/install-python-tools.sh")
    proc = subprocess.run(
        [str(exe), "-d", str(directory), "--framework", "kubernetes", "--output", "json", "--quiet",
         "--skip-download", "--compact"],
        capture_output=True, text=True, timeout=600,
    )
    report: dict[str, Any] = json.loads(proc.stdout)
    failed = [(c["check_id"], c["file_path"], c["resource"]) for c in report["results"].get("failed_checks", [])]
    assert failed == []
    assert report["summary"]["parsing_errors"] == 0
    assert proc.returncode == 0, proc.stderr[-2000:]
    return report


def played_container(name: str) -> dict[str, Any]:
    """`podman inspect` of the one container `podman kube play` started for app ``name``."""
    from tests.support.containers import podman

    ids = podman("ps", "-q", "--filter", f"label=app.kubernetes.io/name={name}").stdout.split()
    assert len(ids) == 1, ids
    inspected: dict[str, Any] = json.loads(podman("inspect", ids[0]).stdout)[0]
    return inspected


def get(url: str, body: dict | None = None) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_ready(base: str, seconds: float = 120) -> int:
    """Poll ``/v2/health/ready`` until 200 or the deadline; the last status (0: no answer)."""
    deadline = time.monotonic() + seconds
    status = 0
    while time.monotonic() < deadline:
        try:
            status, _ = get(f"{base}/v2/health/ready")
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            status = 0
        if status == 200:
            break
        time.sleep(0.5)
    return status


def predicts_like_onnxruntime(base: str, spec: Any, out_dir: Path) -> tuple[dict, bytes]:
    """Eight evaluation rows sent to the served model answer as onnxruntime does on the built model: the
    request body and the raw answer."""
    from mlready.engine.actions.smoke import compare, eval_rows, expected

    repo = out_dir / "docker" / "model-repository" / spec.model_name / str(spec.model.version)
    signature = json.loads((repo / "metadata.json").read_text())
    body, want = expected(repo / "model.onnx", signature, eval_rows(spec, signature, 8))
    code, raw = get(f"{base}/v2/models/{spec.model_name}/infer", body)
    assert code == 200, raw[:500]
    names, worst = compare(json.loads(raw), want)
    assert set(names) == {"label", "probabilities"} and worst < 1e-4
    return body, raw
