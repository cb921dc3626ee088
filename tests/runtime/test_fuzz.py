"""Fuzz the HTTP API from its own OpenAPI document: no input may cause a 5xx."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.server


def test_schemathesis_finds_no_server_error(server, tmp_path):
    exe = Path(sys.executable).with_name("schemathesis")
    cmd = [str(exe) if exe.exists() else shutil.which("schemathesis") or "schemathesis",
           "run", f"{server.url}/openapi.json", "--checks", "not_a_server_error", "--max-examples", "8", "--phases", "examples,coverage,fuzzing",
           "--generation-database", "none", "--request-timeout", "20"]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=170)
    report = proc.stdout[-4000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, report
    assert "Server error" not in proc.stdout, report
