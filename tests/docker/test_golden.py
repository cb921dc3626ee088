"""The generated Dockerfiles, byte for byte (CPU on the test base, and the GPU variant).

Refresh on purpose with ``MLREADY_UPDATE_GOLDEN=1 pytest tests/docker/test_golden.py`` (or ``--update-golden``
when tests/functional is collected too) and commit the reviewed diff.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from tests.docker.conftest import BASE
from tests.support.containers import DEFAULT_BASE_IMAGE

pytestmark = pytest.mark.slow
GOLDEN = Path(__file__).resolve().parent / "golden"


@pytest.mark.parametrize("variant", ["cpu", "gpu"])
def test_dockerfile_matches_golden(variant, cpu_context, gpu_context, request):
    if BASE != DEFAULT_BASE_IMAGE:
        pytest.fail(f"the goldens are written for {DEFAULT_BASE_IMAGE}; unset MLREADY_TEST_BASE_IMAGE", pytrace=False)
    produced = ((cpu_context if variant == "cpu" else gpu_context) / "Dockerfile").read_text()
    golden = GOLDEN / f"Dockerfile.{variant}"
    if os.environ.get("MLREADY_UPDATE_GOLDEN") or request.config.getoption("--update-golden", default=False):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(produced)
        pytest.skip("golden file rewritten")
    expected = golden.read_text()
    diff = "".join(difflib.unified_diff(expected.splitlines(True), produced.splitlines(True),
                                        f"golden/{golden.name}", "built/Dockerfile"))
    assert produced == expected, diff
