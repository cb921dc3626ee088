"""The README's order with a real container engine (issue 17): ``mlready build optimize=... +target=k8s`` then
``mlready image +target=docker`` keeps the k8s bundle, the optimization report and the optimized model."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from mlready.engine import api

from tests.support.containers import DEFAULT_BASE_IMAGE, base_image, docker_client  # noqa: F401  (fixtures)

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
BASE = os.environ.get("MLREADY_TEST_BASE_IMAGE", DEFAULT_BASE_IMAGE)


@pytest.mark.container
@pytest.mark.slow
def test_image_builds_on_the_optimized_k8s_build(tmp_path, docker_client, base_image):  # noqa: F811
    project = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, project, ignore=shutil.ignore_patterns("build", ".mlready", "__pycache__"))
    api.build(project, ["optimize=fp16", "+target=k8s"], run_hooks=False)
    build = project / "build"
    before = {p.relative_to(build).as_posix(): p.read_bytes() for p in build.rglob("*") if p.is_file()}
    assert "reports/optimization.json" in before and any(p.startswith("k8s/") for p in before)

    report = api.image(project, ["+target=docker", f"target.docker.base_image={BASE}"], smoke=False)

    assert report.overrides == ["optimize=fp16", "+target=[k8s,docker]", f"target.docker.base_image={BASE}"]
    after = {p.relative_to(build).as_posix(): p.read_bytes() for p in build.rglob("*") if p.is_file()}
    assert set(before) - {"manifest.json"} <= set(after)
    for kept in ("model/model.onnx", "reports/optimization.json", "reports/optimization.html"):
        assert after[kept] == before[kept], kept
    assert "docker/Dockerfile" in after
    assert docker_client.images.get(report.id).id == report.id
