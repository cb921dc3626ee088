"""The bundle checked by the tools its users run: kubernetes-validate, kubectl kustomize, checkov, yamllint.

Several variants (default, canary, monitoring on, digest known, no CPU limit, and the issue-18 ones: exposure
through a Gateway or an Ingress, GPU, shadow rollouts, KEDA and custom-metric autoscaling) are checked
together, one tool invocation per check, to keep the run short. Custom resources are checked against their CRD
schemas instead of kubernetes-validate (which knows only the core kinds).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.k8s.helpers import (
    CRD_SCHEMAS,
    DIGEST,
    VARIANT_GATEWAY,
    VARIANT_INGRESS,
    VARIANT_KEDA_HTTP,
    VARIANT_MESH_SHADOW,
    crd_problems,
    kubectl,
    manifests,
)
from tests.support.k8s_checks import checkov, kubernetes_validate_failures

pytestmark = [pytest.mark.tools, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CRD_KINDS = set(CRD_SCHEMAS)  # not core Kubernetes kinds: checked against their CRD schemas instead


@pytest.fixture(scope="module")
def variants(bundles) -> list[Path]:
    return [
        bundles.build(),
        bundles.build("+monitoring=prometheus"),
        bundles.build(digest=DIGEST),
        bundles.build("target.k8s.rollout.strategy=canary", "target.k8s.rollout.canary.stable_version=0.9.0",
                      digest=DIGEST),
        bundles.build("target.k8s.environments.dev.resources.cpu_limit=null"),
        bundles.build(*VARIANT_GATEWAY),
        bundles.build(*VARIANT_INGRESS),
        bundles.build(*VARIANT_KEDA_HTTP),
        bundles.build(*VARIANT_MESH_SHADOW),
    ]


@pytest.fixture(scope="module")
def rendered_docs(variants) -> dict[str, list[dict]]:
    """Every overlay of every variant rendered by `kubectl kustomize` (which fails on a broken overlay)."""
    out = {}
    for i, variant in enumerate(variants):
        for env in ("dev", "staging", "prod"):
            proc = subprocess.run([kubectl(), "kustomize", str(variant / "k8s/overlays" / env)],
                                  capture_output=True, text=True, timeout=120)
            assert proc.returncode == 0, f"{variant} {env}: {proc.stderr}"
            docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
            assert {d["kind"] for d in docs} >= {"Deployment", "Service", "ConfigMap", "ServiceAccount"}
            out[f"v{i}-{env}"] = docs
    return out


@pytest.fixture(scope="module")
def rendered(rendered_docs, tmp_path_factory) -> list[Path]:
    """The core-kind objects of every rendered overlay, one file per overlay."""
    out = tmp_path_factory.mktemp("rendered")
    files = []
    for name, docs in rendered_docs.items():
        path = out / f"{name}.yaml"
        path.write_text(yaml.safe_dump_all([d for d in docs if d["kind"] not in CRD_KINDS]))
        files.append(path)
    return files


def test_every_rendered_custom_resource_matches_its_crd_schema(rendered_docs):
    custom = [(name, d) for name, docs in rendered_docs.items() for d in docs if d["kind"] in CRD_KINDS]
    assert {d["kind"] for _, d in custom} == CRD_KINDS  # every kind the bundle can write is exercised here
    bad = {f"{name} {d['kind']}/{d['metadata']['name']}": crd_problems(d) for name, d in custom if crd_problems(d)}
    assert bad == {}


def _core_files(variants: list[Path]) -> list[Path]:
    """Every core-kind manifest file, one per distinct content (variants share most files)."""
    files: dict[str, Path] = {}
    for v in variants:
        for path in manifests(v):
            text = path.read_text()
            body = text[text.index("\n---\n"):] if "\n---\n" in text else text  # minus the header
            if yaml.safe_load(text)["kind"] not in CRD_KINDS:
                files.setdefault(body, path)
    return list(files.values())


def test_kubernetes_validate_strict_on_every_supported_version(variants, rendered):
    """kubernetes-validate --strict for 1.29 to 1.33 (one process per version, run side by side)."""
    files = _core_files(variants) + rendered
    assert len(files) > 25
    assert kubernetes_validate_failures(files) == {}


def test_checkov_has_no_failed_checks(variants, tmp_path):
    for i, v in enumerate(variants):  # one tree, one checkov run
        shutil.copytree(v / "k8s", tmp_path / f"v{i}")
    report = checkov(tmp_path)
    assert report["summary"]["resource_count"] >= 8 * len(variants)
    assert report["summary"]["passed"] > 80 * len(variants)


def test_yamllint_default_config(variants):
    exe = Path(sys.executable).with_name("yamllint")
    files = [str(p) for v in variants for p in sorted((v / "k8s").rglob("*.yaml"))]
    proc = subprocess.run([str(exe), "-f", "parsable", "-d", "default", *files],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout


def test_prometheus_operator_objects_match_their_crd_schemas(bundles):
    out = bundles.build("+monitoring=prometheus")
    docs = [yaml.safe_load((out / "k8s/base" / f).read_text()) for f in ("servicemonitor.yaml", "prometheusrule.yaml")]
    for doc in docs:
        assert crd_problems(doc) == [], doc["kind"]
    assert len(docs[1]["spec"]["groups"][0]["rules"]) >= 3
    typo = json.loads(json.dumps(docs[0]))
    typo["spec"]["endpoints"][0]["intervall"] = "30s"
    assert any("intervall" in p for p in crd_problems(typo))
    bad = json.loads(json.dumps(docs[1]))
    bad["spec"]["groups"][0]["rules"][0]["for"] = "5 minutes"
    assert any("5 minutes" in p for p in crd_problems(bad))
