"""Helpers: real builds of the quickstart project with ``+target=k8s`` (and variants), done once per session.

Builds share one project copy (and so one step cache): only ``k8s.bundle`` re-runs between variants.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from mlready.engine import api

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
BASE = ["tracking.enabled=false"]
DIGEST = "sha256:" + "ab" * 32


def copy_quickstart(dest: Path) -> Path:
    shutil.copytree(QUICKSTART, dest, ignore=shutil.ignore_patterns("build", ".mlready", "__pycache__"))
    return dest


class Bundles:
    """Builds a variant once (overrides -> build dir) and hands out its files."""

    def __init__(self, root: Path):
        self.root = root
        self.project = copy_quickstart(root / "quickstart")
        self._built: dict[tuple[str, ...], Path] = {}

    def build(self, *overrides: str, digest: str | None = None, targets: str = "k8s") -> Path:
        """Build with ``+target=<targets>`` (e.g. ``[k8s,kserve]``) and ``overrides``, once per variant."""
        overrides = (f"+target={targets}", *overrides)
        key = (*overrides, f"digest={digest}")
        if key not in self._built:
            state = self.project / ".mlready" / "image.json"
            state.parent.mkdir(parents=True, exist_ok=True)
            if digest:
                state.write_text(json.dumps({"name": "quickstart", "tag": "1.0.0", "id": "x", "digest": digest}))
            elif state.exists():
                state.unlink()
            out = self.root / f"out{len(self._built)}"
            api.build(self.project, [*BASE, *overrides], out=out, run_hooks=False)
            self._built[key] = out
        return self._built[key]


def load(path: Path) -> dict:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    assert len(docs) == 1, path
    return docs[0]


def manifests(out: Path) -> list[Path]:
    """Every complete Kubernetes object file of the bundle (kustomization files excluded)."""
    return sorted(p for p in (out / "k8s").rglob("*.yaml") if p.name != "kustomization.yaml")


def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        pytest.fail("kubectl is not installed: run tools/install-system-deps.sh")
    return path


def render(overlay: Path) -> list[dict]:
    proc = subprocess.run([kubectl(), "kustomize", str(overlay)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def by_kind(docs: list[dict], kind: str, name: str | None = None) -> dict:
    found = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"{kind} {name}: {len(found)} found"
    return found[0]
