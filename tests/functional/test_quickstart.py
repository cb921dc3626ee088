"""The README's main job, as a new user runs it: `mlready build -C examples/quickstart +target=k8s`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from mlready.engine.cli import main
from mlready.engine.manifest import Manifest

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"


@pytest.fixture
def quickstart(tmp_path, monkeypatch):
    dest = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, dest, ignore=shutil.ignore_patterns("build", ".mlready", "mlruns", "__pycache__"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLREADY_CACHE_DIR", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return dest


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_quickstart_k8s_build_then_noop_rebuild(quickstart, capsys):
    assert main(["build", "-C", "quickstart", "+target=k8s"]) == 0
    build = quickstart / "build"
    manifest = Manifest.load(build)
    kinds = {a.kind for a in manifest.artifacts}
    assert {"onnx-model", "model-signature", "readiness-report", "runtime-config", "k8s-manifest",
            "kustomization"} <= kinds
    assert manifest.spec.overrides == ["+target=k8s"]
    assert manifest.spec.choices["target"] == ["k8s"]
    onnx = next(a for a in manifest.artifacts if a.kind == "onnx-model")
    assert onnx.path == "model/model.onnx" and onnx.step == "model.ingest"
    first = files(build)

    assert main(["build", "-C", "quickstart", "+target=k8s"]) == 0
    manifest2 = Manifest.load(build)
    assert {s.cache for s in manifest2.steps} == {"hit"}
    second = files(build)
    first.pop("manifest.json"), second.pop("manifest.json")
    assert first == second  # byte-identical
    assert main(["check", "-C", "quickstart"]) == 0
    capsys.readouterr()
