"""The generated Dockerfiles pass the checkers their users run: hadolint (default rules) and checkov."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.tools, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["cpu", "gpu"])
def dockerfile(request, cpu_context, gpu_context) -> Path:
    return (cpu_context if request.param == "cpu" else gpu_context) / "Dockerfile"


def test_hadolint_default_rules_no_findings(dockerfile, tmp_path):
    exe = Path(sys.executable).with_name("hadolint")
    # an empty cwd and HOME: no .hadolint.yaml can relax the default rules
    proc = subprocess.run([str(exe), "--no-color", str(dockerfile)], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env={**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)})
    assert (proc.returncode, proc.stdout + proc.stderr) == (0, "")


def test_checkov_dockerfile_no_failed_checks(cpu_context, gpu_context):
    checkov = ROOT / ".tools/checkov/bin/checkov"
    if not checkov.exists():
        pytest.fail("checkov is not installed: run tools/install-python-tools.sh")
    files = [cpu_context / "Dockerfile", gpu_context / "Dockerfile"]  # one run: checkov starts slowly
    proc = subprocess.run([str(checkov), "-f", str(files[0]), "-f", str(files[1]), "--framework", "dockerfile",
                           "--output", "json", "--skip-download", "--compact"],
                          capture_output=True, text=True, timeout=300)
    report = json.loads(proc.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [(c["check_id"], c["file_path"]) for r in reports for c in r.get("results", {}).get("failed_checks", [])]
    passed = {(c["check_id"], Path(c["file_abs_path"])) for r in reports
              for c in r.get("results", {}).get("passed_checks", [])}
    assert failed == []
    for dockerfile in files:  # HEALTHCHECK present, non-root USER: checked in both files
        assert {("CKV_DOCKER_2", dockerfile), ("CKV_DOCKER_3", dockerfile)} <= passed
    assert proc.returncode == 0, proc.stderr[-2000:]
