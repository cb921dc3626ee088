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


@pytest.fixture
def qs(tmp_path: Path) -> Path:
    """A fresh copy of the quickstart (re-exported by the k8s and helm conftests)."""
    return copy_quickstart(tmp_path / "qs")


def spec_problems(project: Path, *overrides: str, target: str | None = None) -> list[str]:
    """The problems of the spec error a build with ``overrides`` (after ``+target=<target>``) raises, before
    anything is written."""
    from mlready.engine.errors import SpecError

    with pytest.raises(SpecError) as info:
        api.build(project, [*BASE, *([f"+target={target}"] if target else []), *overrides], run_hooks=False)
    assert not (project / "build").exists()
    return [str(p) for p in info.value.problems]


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
    """Every complete Kubernetes object file of the bundle (kustomization files and the prometheus-adapter
    chart values excluded)."""
    return sorted(p for p in (out / "k8s").rglob("*.yaml")
                  if p.name != "kustomization.yaml" and p.parent.name != "prometheus-adapter")


#: issue-18 variants of the quickstart bundle, shared by the feature tests and the checkers (test_tools)
GATEWAY = ("target.k8s.exposure.kind=gateway", "target.k8s.exposure.host=churn.example.com",
           "target.k8s.exposure.path=/churn", "target.k8s.exposure.tls_secret=churn-tls",
           "target.k8s.exposure.gateway.class_name=istio", "target.k8s.exposure.controller_namespace=istio-system")
SHADOW = ("target.k8s.rollout.strategy=shadow", "target.k8s.rollout.shadow.stable_version=0.9.0",
          "target.k8s.rollout.shadow.percent=20")
GPU = ("target.docker.variant=gpu", "target.k8s.gpu.runtime_class_name=nvidia",
       "target.k8s.gpu.node_selector={nvidia.com/gpu.present: 'true'}")
#: exposure through a Gateway, a shadow mirrored by it, KEDA on in-flight requests, the GPU image
VARIANT_GATEWAY = (*GATEWAY, *SHADOW, "serving.autoscaling.via=keda", "serving.autoscaling.metric=inflight", *GPU)
#: an Ingress, a shadow mirrored by Istio, an HPA on the mean queue time (prometheus-adapter)
VARIANT_INGRESS = ("target.k8s.exposure.kind=ingress", "target.k8s.exposure.host=churn.example.com",
                   "target.k8s.exposure.tls_secret=churn-tls", "target.k8s.exposure.ingress_class=nginx",
                   *SHADOW, "target.k8s.rollout.shadow.via=istio", "serving.autoscaling.metric=queue_time")
#: scale to zero with KEDA's HTTP add-on (the dev overlay from 0 pods), routes on a shared Gateway
VARIANT_KEDA_HTTP = ("target.k8s.exposure.kind=gateway", "target.k8s.exposure.host=churn.example.com",
                     "target.k8s.exposure.gateway.name=shared", "target.k8s.exposure.gateway.namespace=infra",
                     "serving.autoscaling.via=keda-http", "serving.autoscaling.metric=rps",
                     "target.k8s.environments.dev.autoscaling.enabled=true",
                     "target.k8s.environments.dev.autoscaling.min_replicas=0")
#: a shadow mirrored by a mesh (GAMMA) HTTPRoute, KEDA on the request rate
VARIANT_MESH_SHADOW = (*SHADOW, "serving.autoscaling.via=keda", "serving.autoscaling.metric=rps")


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


SCHEMAS = Path(__file__).parent / "schemas"
#: custom resources the bundle may write -> their schema kept as data in tests/k8s/schemas (source in $comment)
CRD_SCHEMAS = {
    "ServiceMonitor": "servicemonitor-v1", "PrometheusRule": "prometheusrule-v1",
    "HTTPRoute": "httproute-v1", "GRPCRoute": "grpcroute-v1", "Gateway": "gateway-v1",
    "ScaledObject": "scaledobject-v1alpha1", "HTTPScaledObject": "httpscaledobject-v1alpha1",
    "VirtualService": "virtualservice-v1",
}


def crd_problems(doc: dict) -> list[str]:
    """Every violation of the custom resource's schema, as 'path: message' (empty when valid)."""
    from jsonschema import Draft202012Validator

    schema = json.loads((SCHEMAS / f"{CRD_SCHEMAS[doc['kind']]}.schema.json").read_text())
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in Draft202012Validator(schema).iter_errors(doc)]
