"""The rendered chart passes the checkers the bundle passes: kubernetes-validate --strict (1.29-1.33) and
checkov, for every values file of several variants."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helm.helpers import ENVS, chart_dir, namespace, objects, render, values_file
from tests.k8s.helpers import DIGEST
from tests.k8s.test_tools import CRD_KINDS, K8S_VERSIONS

pytestmark = [pytest.mark.tools, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
VARIANTS = [
    ((), None),
    (("+monitoring=prometheus",), DIGEST),
    (("target.k8s.rollout.strategy=canary", "target.k8s.rollout.canary.stable_version=0.9.0"), DIGEST),
    (("target.k8s.environments.dev.resources.cpu_limit=null",), None),
]


@pytest.fixture(scope="module")
def rendered(charts, tmp_path_factory) -> Path:
    """Every variant x values file rendered by Helm: one file per render (core kinds), one per template for
    checkov (which reads each object with its file)."""
    out = tmp_path_factory.mktemp("rendered")
    for i, (overrides, digest) in enumerate(VARIANTS):
        build = charts.build(*overrides, digest=digest, targets="[k8s,helm]")
        chart = chart_dir(build)
        for env in (None, *ENVS):
            docs = [d for d in objects(render(chart, values_file(chart, env), namespace(build, env)))
                    if d["kind"] not in CRD_KINDS]
            (out / f"v{i}-{env or 'base'}.yaml").write_text(yaml.safe_dump_all(docs))
    return out


def test_kubernetes_validate_strict_on_every_supported_version(rendered):
    files = sorted(str(p) for p in rendered.glob("*.yaml"))
    assert len(files) == 4 * len(VARIANTS)
    exe = Path(sys.executable).with_name("kubernetes-validate")
    procs = {v: subprocess.Popen([str(exe), "--strict", "--quiet", "-k", v, *files],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for v in K8S_VERSIONS}
    failures = {}
    for version, proc in procs.items():
        output, _ = proc.communicate(timeout=600)
        if proc.returncode != 0:
            failures[version] = output[-3000:]
    assert failures == {}


def test_checkov_has_no_failed_checks(rendered):
    checkov = ROOT / ".tools/checkov/bin/checkov"
    if not checkov.exists():
        pytest.fail("checkov is not installed: run tools/install-python-tools.sh")
    proc = subprocess.run(
        [str(checkov), "-d", str(rendered), "--framework", "kubernetes", "--output", "json", "--quiet",
         "--skip-download", "--compact"],
        capture_output=True, text=True, timeout=600,
    )
    report = json.loads(proc.stdout)
    failed = [(c["check_id"], c["file_path"], c["resource"]) for c in report["results"].get("failed_checks", [])]
    assert failed == []
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["resource_count"] >= 6 * 4 * len(VARIANTS)
    assert proc.returncode == 0, proc.stderr[-2000:]
