"""The served ONNX bytes do not depend on the process's string hashing: converters collect opset imports in a
set, so without sorting them a rebuild in another process (or `mlready check`) saw a different model.onnx."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"


def test_model_onnx_is_the_same_under_every_hash_seed(tmp_path):
    digests = set()
    cli = str(Path(sys.executable).with_name("mlready"))
    for seed in ("1", "2", "3"):
        project = tmp_path / seed
        shutil.copytree(QUICKSTART, project, ignore=shutil.ignore_patterns("build", ".mlready", "mlruns"))
        run = subprocess.run([cli, "build", "-C", str(project), "--quiet", "--no-cache", "tracking.enabled=false"],
                             env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        digests.add(hashlib.sha256((project / "build" / "model" / "model.onnx").read_bytes()).hexdigest())
    assert len(digests) == 1
